"""Cross-entropy: the objective of MI-FGSM and its DI/TI/PI variants.

Untargeted softmax cross-entropy of the logits, maximised. As in the FIA
code, the class attacked is by default the source model's prediction on the
clean image (``ce_labels='prediction'``), computed once without input
transform; ``ce_labels='true'`` attacks the given labels. Method strings
name it by having no objective prefix (``MIM``, ``DIM``, ``TIM``, ``PIM``).
"""

import tensorflow as tf

from fia_tf.attacks import parts
from fia_tf.attacks.objectives import base


class CrossEntropy(base.Objective):
  """``-log softmax(logits)[label]`` per image."""

  @property
  def needs_labels(self):
    return self.config.ce_labels == 'true'

  def prepare(self, images, labels, ids):
    del ids
    if self.config.ce_labels == 'prediction':
      logits = self.network.logits(self.network.preprocess(images))
      labels = tf.argmax(logits, axis=-1, output_type=tf.int32)
    return (labels,)

  def __call__(self, out, state, clean):
    del clean
    (labels,) = state
    return tf.nn.sparse_softmax_cross_entropy_with_logits(labels, out)


parts.OBJECTIVES.register(
    'ce', CrossEntropy, settings=('ce_labels',),
    description='softmax cross-entropy (MI-FGSM and variants)')
