"""ILPD (Li et al., NeurIPS 2023, arXiv 2304.13410): perturbation decay.

Paper: "Improving Adversarial Transferability via Intermediate-level
Perturbation Decay" (Qizhang Li, Yiwen Guo, Wangmeng Zuo, Hao Chen).
Official code: github.com/qizhangli/ILPD-attack (PyTorch, ``attacks/
ilpd.py`` and ``attack.py``; we read commit 4f62ae7). Its PyTorch models
and weights do not run here, so this module is checked against
hand-computed values and property tests (``tests/attacks/test_ilpd.py``).

Single stage: in every forward pass of the adversarial image the feature
map ``h`` of the feature layer is replaced (a forward hook in the code) by

    h' = ilpd_gamma * h(x_adv) + (1 - ilpd_gamma) * h(x + sigma * n),

``n ~ N(0, 1)`` per pixel and channel, drawn afresh for every iteration
(and for every one of ``ilpd_copies`` passes of it), added to the clean
pixels before the preprocessing and not clipped; the clean term carries no
gradient (computed under ``no_grad``). The rest of the network runs on
``h'`` and the value maximised is the softmax cross-entropy of those
logits against the **true** label (the dataset's label in the code). With
``ilpd_copies = N > 1`` the value is the mean over N such passes, each with
its own noise (the code averages their input gradients, the same thing).

Defaults of the official code (``attack.py``): ``--ilpd-coef 0.1`` (our
``ilpd_gamma``: the weight of the *adversarial* feature; the help text
calls it "1/gamma"), ``--ilpd-sigma 0.05`` on images in [0, 1], which is
our ``ilpd_sigma = 12.75`` pixel levels, ``--ilpd-N 1``, ``--ilpd-pos
layer2.3`` for torchvision's ResNet-50 (the output of the last block of
the second stage, which is slim's ``resnet_v1_50/block2/unit_4/
bottleneck_v1``, FIA's default layer there); for the other models we use
the source's feature layer (FIA's defaults). Its iterations are I-FGSM
with ``eps = 8``, step ``1``, 100 steps, no momentum, clipping to the
pixel range every step; these are the shared :class:`fia_tf.AttackConfig`
fields (pass ``eps=8, alpha=1, num_iter=100, momentum=0`` for the code's
numbers: with no momentum, the sign of the ``mean|g|``-normalised gradient
is the sign of the gradient).

With ``ilpd_gamma = 1`` the clean term vanishes and the value is the plain
cross-entropy of the source model on the true label.

The rest of the network is a Keras model from the feature layer's output to
the logits (:func:`fia_tf.attacks.source.suffix_model`). It exists after a
ResNet block's output, an Inception ``Mixed`` concat or any layer of a
plain chain; for a layer inside a residual block (whose shortcut the rest
also reads) building the attack raises a ``ValueError`` saying so.

Where we differ from the official code, and why:

* The noise is keyed per image and iteration (:mod:`fia_tf.attacks.rng`,
  purpose 8), not ``torch.randn`` of a global stream, so results do not
  depend on the batch. The iteration's index comes from the parts
  protocol (:meth:`advance` stores it in the state), so the attack runs
  sharded over replicas like any other.
* With DI in the method, the noised clean image goes through the same DI
  draw as the adversarial one (so the two feature maps are aligned); the
  code has no DI.
* ``ilpd_sigma = 0`` with no DI computes the clean features once, as the
  code does (its hook is prepared only at the first iteration then).
"""

import tensorflow as tf

from fia_tf.attacks import checks
from fia_tf.attacks import parts
from fia_tf.attacks import rng
from fia_tf.attacks.objectives import base

ILPD_NOISE = rng.claim(8, "ILPD's clean-image noise")


def decayed(adversarial, reference, gamma):
  """``gamma * adversarial + (1 - gamma) * reference``."""
  return gamma * adversarial + (1.0 - gamma) * reference


class PerturbationDecay(base.Objective):
  """ILPD's objective: cross-entropy of the decayed feature map's logits."""
  output = 'features'

  def __init__(self, context):
    super().__init__(context)
    self.input_transform = context.input_transform
    self.gamma = float(self.config.option('ilpd_gamma'))
    self.sigma = float(self.config.option('ilpd_sigma'))
    self.copies = int(self.config.option('ilpd_copies'))
    self.network.use_suffix()
    self.fixed_reference = (self.sigma == 0 and
                            self.config.parts.input_transform == 'none')

  @property
  def needs_labels(self):
    return True

  def clean_noise(self, counter, ids):
    """``sigma * n`` for draw ``counter`` of each image, in pixels."""
    keys = rng.keys(self.config.seed, ILPD_NOISE, counter, ids)
    return self.sigma * rng.normal(keys, self.network.image_shape)

  def reference(self, images, ids, iteration, copy_index):
    """``h(x + sigma * n)`` for pass ``copy_index`` of ``iteration``.

    The input transform gets the engine's draw of that iteration, so the
    reference is aligned with the adversarial image's feature map.
    """
    counter = iteration * self.copies + copy_index
    pixels = images + self.clean_noise(counter, ids)
    keys = rng.keys(self.config.seed, rng.DI, iteration, ids)
    return self.network.features(
        self.input_transform(self.network.preprocess(pixels), keys))

  def prepare(self, images, labels, ids):
    labels = tf.convert_to_tensor(labels, tf.int32)
    ids = tf.convert_to_tensor(ids, tf.int64)
    if self.fixed_reference:
      fixed = self.network.features(self.network.preprocess(images))
    else:
      fixed = tf.zeros([0], tf.float32)
    return labels, ids, images, fixed, tf.constant(0, tf.int64)

  def advance(self, state, iterate, ids, t):
    """Records the iteration's index (it keys the noise and DI draws)."""
    del iterate, ids
    return state[:-1] + (tf.cast(t, tf.int64),)

  def __call__(self, out, state, clean):
    del clean
    labels, ids, images, fixed, iteration = state
    if self.fixed_reference:
      references = [fixed] * self.copies
    else:
      references = [self.reference(images, ids, iteration, j)
                    for j in range(self.copies)]
    values = []
    for reference in references:
      mixed = decayed(out, tf.stop_gradient(reference), self.gamma)
      logits = self.network.logits_of_features(mixed)
      values.append(tf.nn.sparse_softmax_cross_entropy_with_logits(
          labels, logits))
    return tf.add_n(values) / float(self.copies)


parts.OBJECTIVES.register(
    'ilpd', PerturbationDecay, token='ILPD',
    description='ILPD: intermediate-level perturbation decay',
    options=(
        parts.Option('ilpd_gamma', 0.1,
                     lambda n, v: checks.check_real(n, v, low=0.0,
                                                    high=1.0),
                     "weight of the adversarial feature (the code's "
                     '--ilpd-coef 0.1)'),
        parts.Option('ilpd_sigma', 12.75,
                     lambda n, v: checks.check_real(n, v, low=0.0),
                     'std of the clean image\'s noise in pixel levels (the '
                     "code's 0.05 on [0, 1] images)"),
        parts.Option('ilpd_copies', 1,
                     lambda n, v: checks.check_int(n, v, low=1),
                     "noised passes averaged per iteration (the code's "
                     '--ilpd-N 1)'),
    ))
