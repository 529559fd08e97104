"""FDA (Ganeshan et al., 2019): disrupt the feature activations.

Activations of the clean image below their per-pixel channel mean are
pushed up and the others down: ``log ||good * f|| - log ||bad * f||`` with
squared L2 norms (the ``1 / size`` scaling of the original cancels in the
difference of logs).

``fda_reduction='image'`` takes the log-ratio per image (batch-size
invariant, the default); ``'batch'`` sums the energies over the batch first,
as the original does, so every image's gradient depends on the others. Each
image then carries ``1/B`` of the batch value so that the summed loss equals
the original's (for golden comparisons).
"""

import tensorflow as tf

from fia_tf.attacks import parts
from fia_tf.attacks.objectives import base

_TINY = 1e-30


class FeatureDisruption(base.Objective):
  output = 'features'
  needs_clean = True

  def __call__(self, out, state, clean):
    del state
    mean = tf.reduce_mean(clean, axis=-1, keepdims=True)
    good = tf.cast(clean < mean, out.dtype)
    axes = [1, 2, 3]
    e_good = tf.reduce_sum(tf.square(good * out), axis=axes)
    e_bad = tf.reduce_sum(tf.square((1 - good) * out), axis=axes)
    if self.config.fda_reduction == 'batch':
      value = (tf.math.log(tf.reduce_sum(e_good) + _TINY) -
               tf.math.log(tf.reduce_sum(e_bad) + _TINY))
      batch = tf.cast(tf.shape(out)[0], out.dtype)
      return tf.fill(tf.shape(e_good), value / batch)
    return tf.math.log(e_good + _TINY) - tf.math.log(e_bad + _TINY)


parts.OBJECTIVES.register(
    'fda', FeatureDisruption, token='FDA', settings=('fda_reduction',),
    description='FDA: feature disruption (log energy ratio)')
