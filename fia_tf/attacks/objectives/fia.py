"""FIA (Wang et al., ICCV 2021, arXiv 2107.14185): feature importance.

Official code: github.com/hcguoO0/FIA (TF1 + slim, ``attack.py``).

The value is ``sum(features(x) * W) / size`` with ``size = H * W * C`` of
the feature map, maximised. The importance weights ``W`` are computed once,
before the iterations:

* the gradient of ``sum(logits * onehot(label))`` with respect to the
  feature map (logits, not softmax; the true label);
* summed over ``ens`` copies of each image whose raw 0..255 pixels are
  multiplied by Bernoulli(``keep_prob``) masks drawn per pixel and channel
  (``ens = 0``: the clean image alone);
* L2-normalised per image and negated, so maximising the value suppresses
  the features that support the true class.

With DI in the method, every masked copy also goes through DI with its own
draw, as in the original, where DI sits in the graph the weights are taken
from. Where we differ from the original and why: the masks are keyed per
image (:mod:`fia_tf.attacks.rng`), not ``np.random`` per batch; the loss
divides by the per-image feature size instead of the whole ``[2B, H, W, C]``
batch's (a constant factor the ``mean|g|`` normalisation removes); an
all-zero aggregate gives zero weights instead of NaN.
"""

import tensorflow as tf

from fia_tf.attacks import parts
from fia_tf.attacks import rng
from fia_tf.attacks.objectives import base


def logit_target(logits, selector):
  """The quantity whose feature gradient is aggregated: selected logits."""
  return tf.reduce_sum(logits * selector)


def normalized_negative(aggregate):
  """``-aggregate / ||aggregate||_2`` per image.

  The original divides with no guard; an all-zero aggregate (a dead layer,
  a saturated softmax) gives zero weights here instead of NaN.
  """
  norm = tf.sqrt(tf.reduce_sum(tf.square(aggregate), axis=[1, 2, 3],
                               keepdims=True))
  return -aggregate / tf.where(norm > 0, norm, tf.ones_like(norm))


class FeatureImportance(base.Objective):
  output = 'features'
  #: ``target(logits, selector)``, whose feature gradient is aggregated.
  target = staticmethod(logit_target)

  def __init__(self, context):
    super().__init__(context)
    self.input_transform = context.input_transform
    # The masks are ~20 integer ops per pixel; unfused, each op streams the
    # whole pass through memory (measured on this CPU: 65 ms per 24-copy
    # Inception pass, 2% of FIA). XLA fuses them into one loop (7.5 ms), and
    # integer hashing is exact, so the bits are the same either way.
    self._masked = tf.function(self.mask_pixels, jit_compile=True)

  def mask_pixels(self, pixels, keys):
    """Pixels times Bernoulli(keep_prob) masks drawn per pixel and channel."""
    masks = rng.uniform(keys, self.network.image_shape) < self.config.keep_prob
    return pixels * tf.cast(masks, tf.float32)

  @property
  def needs_labels(self):
    return True

  def copies_per_image(self):
    return self.config.ens

  def copy(self, pixels, copy_index, copy_ids):
    """Masked copy ``copy_index`` of each image, as model input."""
    seed = self.config.seed
    masked = self._masked(pixels, rng.keys(seed, rng.MASK, copy_index,
                                           copy_ids))
    return self.input_transform(
        self.network.preprocess(masked),
        rng.keys(seed, rng.MASK_DI, copy_index, copy_ids))

  def importance_weights(self, images, labels, ids):
    """FIA's aggregate gradient, before normalisation and negation.

    The ``B * ens`` copies run in memory-bounded passes
    (:meth:`fia_tf.attacks.network.Network.aggregate`); each image's
    gradients are added one copy at a time in copy order, so the result is
    bit-identical for any batch, pass size or split across devices (given
    batch-independent kernels).
    """
    onehot = tf.one_hot(tf.convert_to_tensor(labels, tf.int32),
                        self.network.num_classes)
    ids = tf.convert_to_tensor(ids, tf.int64)
    if self.config.ens == 0:
      keys = rng.keys(self.config.seed, rng.MASK_DI, 0, ids)
      model_input = self.input_transform(self.network.preprocess(images),
                                         keys)
      return self.network.feature_gradient(model_input, onehot, self.target)
    return self.network.aggregate(images, ids, onehot, self.config.ens,
                                  self.copy, self.target)

  def prepare(self, images, labels, ids):
    return (normalized_negative(self.importance_weights(images, labels,
                                                        ids)),)

  def __call__(self, out, state, clean):
    del clean
    (weights,) = state
    size = tf.cast(tf.reduce_prod(tf.shape(out)[1:]), out.dtype)
    return tf.reduce_sum(out * weights, axis=[1, 2, 3]) / size


parts.OBJECTIVES.register(
    'fia', FeatureImportance, token='FIA', settings=('ens', 'keep_prob'),
    description='FIA: feature importance-aware attack')
