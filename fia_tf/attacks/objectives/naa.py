"""NAA (Zhang et al., CVPR 2022, arXiv 2204.00008): neuron attribution.

Paper: "Improving Adversarial Transferability via Neuron Attribution-based
Attacks". Official code: github.com/jpzhang1810/NAA (TF1 + slim,
``NAA.py``; we follow commit 372730a, checked against its outputs in
``tests/zoo/test_golden_naa_rpa.py``).

The weights are integrated gradients of the true class's **softmax**
probability (not the logit, unlike FIA) with respect to the feature map,
computed once before the iterations. As the official code computes them,
copy ``l = 0 .. ens-1`` of each image is, in the model-input domain,

    x_l = (P(x) + n_l) * (1 - l / ens) + (l / ens) * P(black),

with ``P`` the preprocessing, ``P(black)`` the preprocessed all-zero image
and ``n_l ~ N(0, naa_noise_std^2)`` drawn per copy, pixel and channel
(``naa_noise_std = 0.2`` in model-input units, whatever the model's range:
about 25 grey levels for [-1, 1] inputs, 0.2 of one for mean-subtracted
0..255 inputs). So copy 0 is the noised image itself and the path walks
towards the black baseline without reaching it: the right Riemann sum of
integrated gradients in reverse order. The paper writes the path from the
baseline and puts the noise nowhere; we follow the code (the question is
open on that repository). The gradients are summed with no ``1/ens``
factor (the normalisation removes it), L2-normalised per image and negated:
``W``. ``ens = 0`` takes the clean image alone, with no noise.

The value maximised is

    sum(max(A, 0) + naa_gamma * min(A, 0)) / size,
    A = (features(x_adv) - features(P(black))) * W,

with ``size = H * W * C`` of the feature map. The official code
hard-codes ``gamma = 1.0`` (its ``--gamma`` flag is PI's), which makes the
value linear; ``naa_gamma`` is the paper's knob, default 1.0 as the code.

Where we differ from the official code, and why:

* The noise is keyed per image (:mod:`fia_tf.attacks.rng`), not unseeded
  ``np.random.normal``, so results do not depend on the batch or a resume.
* With DI in the method, every path copy goes through DI with its own draw
  (the official code has DI in the graph the weights come from); the
  baseline feature is taken without DI, once (the official code recomputes
  it every iteration through a fresh DI draw of the black image, which is
  the black image padded with zeros of the model domain: noise on a
  constant, which we leave out).
* The loss divides by the per-image feature size instead of the
  ``[2B, H, W, C]`` batch's (a constant the ``mean|g|`` step removes).
* All-zero attributions (a saturated softmax: the true class's probability
  is 0 in float32) give zero weights, hence the clean image, where the
  official code divides 0 by 0 and writes black images.
"""

import tensorflow as tf

from fia_tf.attacks import checks
from fia_tf.attacks import parts
from fia_tf.attacks import rng
from fia_tf.attacks.objectives import fia

NAA_NOISE = rng.claim(5, "NAA's path noise")


def balanced_value(out, base_features, weights, gamma):
  """NAA's value ``sum(max(A,0) + gamma*min(A,0)) / size`` per image,
  ``A = (out - base_features) * weights`` (DANAA's too)."""
  attribution = (out - base_features) * weights
  balanced = (tf.maximum(attribution, 0.0) +
              gamma * tf.minimum(attribution, 0.0))
  size = tf.cast(tf.reduce_prod(tf.shape(out)[1:]), out.dtype)
  return tf.reduce_sum(balanced, axis=[1, 2, 3]) / size


def softmax_target(logits, selector):
  """The quantity NAA attributes: the selected softmax probabilities."""
  return tf.reduce_sum(tf.nn.softmax(logits, axis=-1) * selector)


class NeuronAttribution(fia.FeatureImportance):
  """NAA's objective: FIA's aggregation with NAA's target, copies and loss.

  Subclasses may override :meth:`path_noise`.
  """
  target = staticmethod(softmax_target)

  def __init__(self, context):
    super().__init__(context)
    self.gamma = float(self.config.option('naa_gamma'))
    self.noise_std = float(self.config.option('naa_noise_std'))

  def baseline(self):
    """The preprocessed black image ``[1, H, W, C]``."""
    return self.network.preprocess(
        tf.zeros((1,) + tuple(self.network.image_shape), tf.float32))

  def path_noise(self, copy_index, copy_ids):
    """``n_l`` of each copy, ``[P, H, W, C]`` in model-input units."""
    keys = rng.keys(self.config.seed, NAA_NOISE, copy_index, copy_ids)
    return self.noise_std * rng.normal(keys, self.network.image_shape)

  def copy(self, pixels, copy_index, copy_ids):
    """Path point ``copy_index`` of each image, as model input."""
    fraction = tf.cast(copy_index, tf.float32)[:, None, None, None] / float(
        self.config.ens)
    start = self.network.preprocess(pixels) + self.path_noise(copy_index,
                                                              copy_ids)
    point = start * (1.0 - fraction) + fraction * self.baseline()
    return self.input_transform(
        point, rng.keys(self.config.seed, rng.MASK_DI, copy_index, copy_ids))

  def prepare(self, images, labels, ids):
    weights = fia.normalized_negative(
        self.importance_weights(images, labels, ids))
    return weights, self.network.features(self.baseline())

  def __call__(self, out, state, clean):
    del clean
    weights, base_features = state
    return balanced_value(out, base_features, weights, self.gamma)


parts.OBJECTIVES.register(
    'naa', NeuronAttribution, token='NAA', settings=('ens',),
    description='NAA: neuron attribution-based attack',
    options=(
        parts.Option('naa_gamma', 1.0,
                     lambda n, v: checks.check_real(n, v, low=0.0),
                     "weight of negative attributions (the code's 1.0)"),
        parts.Option('naa_noise_std', 0.2,
                     lambda n, v: checks.check_real(n, v, low=0.0),
                     'std of the path noise, model-input units'),
    ))
