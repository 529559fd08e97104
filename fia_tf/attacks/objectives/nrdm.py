"""NRDM (Naseer et al., 2018): distort the intermediate features.

The value is the L2 distance between the features of the iterate and of the
clean image, divided by the feature size, as in the FIA code. The attack
starts from the clean image plus Gaussian noise (``nrdm_noise_std`` pixel
levels, per-image keyed draws) because the distance has no useful gradient
at zero. The original normalises by the norm over the whole batch; the
direction of each image's gradient is the same, and the ``mean|g|``
normalisation removes the scale, so per image is not a deviation.
"""

import tensorflow as tf

from fia_tf.attacks import parts
from fia_tf.attacks import rng
from fia_tf.attacks.objectives import base

_TINY = 1e-30


class FeatureDistortion(base.Objective):
  output = 'features'
  needs_clean = True

  def start(self, images, ids):
    noise = rng.normal(rng.keys(self.config.seed, rng.NRDM_INIT, 0, ids),
                       self.network.image_shape)
    return images + self.config.nrdm_noise_std * noise

  def __call__(self, out, state, clean):
    del state
    diff = tf.reshape(out - clean, [tf.shape(out)[0], -1])
    size = tf.cast(tf.shape(diff)[1], out.dtype)
    return tf.sqrt(tf.maximum(tf.reduce_sum(tf.square(diff), -1), _TINY)) / size


parts.OBJECTIVES.register(
    'nrdm', FeatureDistortion, token='NRDM', settings=('nrdm_noise_std',),
    description='NRDM: L2 distortion of the feature map')
