"""Input transforms: applied to the model input before every forward pass.

``none`` (the identity) and ``di``: DI (Xie et al., CVPR 2019), written with
core TF ops (tensorflow-addons cannot be imported with TF 2.21 / Keras 3).
"""

import numpy as np
import tensorflow as tf

from fia_tf.attacks import parts
from fia_tf.attacks import rng


class Identity:
  """The no-op transform."""

  def __call__(self, x, *unused_args):
    return x


class InputDiversity:
  """DI with per-image randomness.

  With probability ``prob`` an image is resized (nearest neighbour) to a
  random ``rnd`` in ``[size, resize)``, zero-padded at a random offset to
  ``resize``, and resized back to ``size`` (nearest). Otherwise it is left
  as it is. Padding is zero in the *model-input* domain, as in the original,
  which applies DI after preprocessing.

  The original draws one ``rnd``, one offset and one coin per batch; here each
  image has its own draws keyed by its id, so results do not depend on
  batching. Nearest-neighbour indices follow TF1's ``resize_images``
  (``align_corners=False``, no half-pixel centres). The whole transform is
  one gather per axis, so the batch stays vectorised and XLA-compilable.
  """

  def __init__(self, size, resize, prob):
    if resize <= size:
      raise ValueError(f'image_resize must exceed the input size {size}, '
                       f'got {resize!r}')
    self.size, self.resize, self.prob = int(size), int(resize), float(prob)

  def index_maps(self, keys_):
    """Source row/col indices (-1 = zero padding) per image: two ``[B, size]``."""
    size, resize = self.size, self.resize
    u = rng.uniform(keys_, [4])  # [B, 4]
    rnd = size + tf.cast(tf.floor(u[:, 0] * (resize - size)), tf.int32)
    rnd = tf.minimum(rnd, resize - 1)
    rem = resize - rnd
    pads = tf.cast(tf.floor(u[:, 1:3] * tf.cast(rem, tf.float32)[:, None]),
                   tf.int32)
    pads = tf.minimum(pads, rem[:, None] - 1)
    apply = u[:, 3] < self.prob
    out = tf.range(size, dtype=tf.float32)
    # size -> resize -> size, evaluated from the output pixel backwards.
    j = tf.minimum(tf.cast(tf.floor(out * np.float32(resize / size)), tf.int32),
                   resize - 1)  # [size]
    scale = tf.cast(size, tf.float32) / tf.cast(rnd, tf.float32)  # [B]
    maps = []
    for axis in range(2):
      offset = j[None, :] - pads[:, axis:axis + 1]  # [B, size]
      inside = (offset >= 0) & (offset < rnd[:, None])
      src = tf.cast(tf.floor(tf.cast(offset, tf.float32) * scale[:, None]),
                    tf.int32)
      src = tf.where(inside, tf.minimum(src, size - 1), -1)
      identity = tf.broadcast_to(tf.range(size)[None, :], tf.shape(src))
      maps.append(tf.where(apply[:, None], src, identity))
    return maps

  def __call__(self, x, keys_):
    rows, cols = self.index_maps(keys_)
    valid_r = tf.cast(rows >= 0, x.dtype)
    valid_c = tf.cast(cols >= 0, x.dtype)
    x = tf.gather(x, tf.maximum(rows, 0), axis=1, batch_dims=1)
    x = tf.gather(x, tf.maximum(cols, 0), axis=2, batch_dims=1)
    return x * valid_r[:, :, None, None] * valid_c[:, None, :, None]


def _input_diversity(context):
  height, width, _ = context.image_shape
  if height is None or height != width:
    raise ValueError('DI needs a square, static model input, got '
                     f'{height}x{width}')
  config = context.config
  return InputDiversity(height, config.di_resize(height), config.di_prob)


parts.INPUT_TRANSFORMS.register('none', lambda context: Identity(),
                                description='no input transform')
parts.INPUT_TRANSFORMS.register(
    'di', _input_diversity, token='DI', settings=('image_resize', 'di_prob'),
    description='DI: random resize and pad (Xie et al., 2019)')
