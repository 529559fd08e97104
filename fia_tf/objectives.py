"""Objectives: per-image values that the attack maximises.

Each objective says which network output it needs (``'logits'`` from the full
model or ``'features'`` from the prefix up to the feature layer), prepares
whatever it needs once from the clean images (labels, FIA's importance
weights, clean features), and returns one value per image. Summing the values
gives the loss whose input gradient drives the update rule; because every
value depends on its own image only, results do not depend on the batch
(except for ``FeatureDisruption(reduction='batch')``, the original's form).
"""

import tensorflow as tf

_TINY = 1e-30


class CrossEntropy:
  """Untargeted softmax cross-entropy (MIM, DIM, TIM, PIM, ...).

  Args:
    labels: ``'prediction'`` attacks the class the model predicts on the
      clean image, as the original does for its plain attacks; ``'true'``
      attacks the given labels.
  """
  output = 'logits'
  needs_clean = False

  def __init__(self, labels='prediction'):
    self.labels = labels

  def prepare(self, engine, x0, labels, ids):
    if self.labels == 'prediction':
      labels = tf.argmax(engine.logits(x0), axis=-1, output_type=tf.int32)
    return (labels,)

  def __call__(self, logits, state, clean):
    del clean
    (labels,) = state
    return tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits)


class FeatureImportance:
  """FIA (Wang et al., 2021): ``sum(features * weights) / size``.

  The weights are the aggregate gradient of the true-class logit with respect
  to the feature map over N Bernoulli-masked copies of the clean image,
  L2-normalised per image and negated (see :meth:`Attack.importance_weights`);
  they are computed once, before the iterations. Maximising the value
  suppresses features that support the true class and promotes the others.
  """
  output = 'features'
  needs_clean = False

  def prepare(self, engine, x0, labels, ids):
    aggregate = engine.importance_weights(x0, labels, ids)
    norm = tf.sqrt(tf.reduce_sum(tf.square(aggregate), axis=[1, 2, 3],
                                 keepdims=True))
    # The original divides with no guard; an all-zero aggregate (dead layer)
    # gives zero weights here instead of NaN.
    weights = -aggregate / tf.where(norm > 0, norm, tf.ones_like(norm))
    return (weights,)

  def __call__(self, features, state, clean):
    del clean
    (weights,) = state
    size = tf.cast(tf.reduce_prod(tf.shape(features)[1:]), features.dtype)
    return tf.reduce_sum(features * weights, axis=[1, 2, 3]) / size


class FeatureDistortion:
  """NRDM (Naseer et al., 2018): L2 distance to the clean features / size.

  The attack starts from the clean image plus small Gaussian noise (as the
  original does) because the distance has no useful gradient at zero.
  """
  output = 'features'
  needs_clean = True

  def prepare(self, engine, x0, labels, ids):
    return ()

  def __call__(self, features, state, clean):
    diff = tf.reshape(features - clean, [tf.shape(features)[0], -1])
    size = tf.cast(tf.shape(diff)[1], features.dtype)
    return tf.sqrt(tf.maximum(tf.reduce_sum(tf.square(diff), -1), _TINY)) / size


class FeatureDisruption:
  """FDA (Ganeshan et al., 2019): log-ratio of feature energies.

  Activations of the clean image below their per-pixel channel mean are
  pushed up and the others down: ``log ||good * f|| - log ||bad * f||`` with
  squared L2 norms (the ``1/size`` scaling of the original cancels in the
  difference of logs).

  Args:
    reduction: ``'image'`` takes the log-ratio per image; ``'batch'`` sums the
      energies over the batch first, as the original does, so every image's
      gradient depends on the others. Each image then carries ``1/B`` of the
      batch value so that the summed loss equals the original's.
  """
  output = 'features'
  needs_clean = True

  def __init__(self, reduction='image'):
    self.reduction = reduction

  def prepare(self, engine, x0, labels, ids):
    return ()

  def __call__(self, features, state, clean):
    mean = tf.reduce_mean(clean, axis=-1, keepdims=True)
    good = tf.cast(clean < mean, features.dtype)
    axes = [1, 2, 3]
    e_good = tf.reduce_sum(tf.square(good * features), axis=axes)
    e_bad = tf.reduce_sum(tf.square((1 - good) * features), axis=axes)
    if self.reduction == 'batch':
      value = (tf.math.log(tf.reduce_sum(e_good) + _TINY) -
               tf.math.log(tf.reduce_sum(e_bad) + _TINY))
      batch = tf.cast(tf.shape(features)[0], features.dtype)
      return tf.fill(tf.shape(e_good), value / batch)
    return tf.math.log(e_good + _TINY) - tf.math.log(e_bad + _TINY)


def build(config):
  """The objective named by ``config.parts.objective``."""
  name = config.parts.objective
  if name == 'ce':
    return CrossEntropy(config.ce_labels)
  if name == 'fia':
    return FeatureImportance()
  if name == 'nrdm':
    return FeatureDistortion()
  return FeatureDisruption(config.fda_reduction)
