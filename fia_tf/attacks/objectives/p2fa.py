"""P2FA (Liu et al., ICML 2025): Pixel2Feature attack.

Paper: R. Liu, H. Wu, J. Zhang, X. Cheng, X. Luo, B. Ma, J. Wang,
"Pixel2Feature Attack (P2FA): Rethinking the Perturbed Space to Enhance
Adversarial Transferability", ICML 2025 (PMLR 267; openreview bPJo5uSkOJ;
we found no arXiv id). Official code: github.com/WH-Lrp/P2FA (PyTorch,
``attacks/p2fa.py`` and ``main.py``; we read commit f517147). The paper's
text was not available to us; this module follows the code. The authors
overlap with BFA's (:mod:`fia_tf.attacks.objectives.bfa`), and P2FA's
importance is BFA's, code for code.

What the official code computes (``N = ens``, ``K`` inner steps, ``T``
outer iterations, ``f`` the feature map, pixel domain)::

  adv = x;  g = 0;  m = 0
  repeat T times:
    w   = BFA's weights at adv            (-a / ||a||_2, N chain copies)
    g   = g + w                           (momentum in feature space)
    f*  = f(adv) + c * g / ||g||_2        (c = 1e5: far along g)
    repeat K times:
      d   = grad_adv ||f(adv) - f*||_2^2  (summed over the map)
      m   = m + d / mean|d|
      adv = clip(adv - alpha * sign(m))   (eps-ball and pixel range)

So the attack picks a target point in feature space, far in the direction
that lowers the true class's logit at BFA's adversarial copies, and inverts
it back to pixels by minimising the distance to it: the perturbation is
chosen in feature space and mapped to pixel space (the paper's "Pixel2
Feature"). Because ``c`` is huge, ``grad ||f - f*||^2 = 2 (f - f(adv_t)) -
2 c g/||g||``, whose first term is ~1e-3 of the second at a typical layer:
the inner loop is essentially FIA's loss with BFA's weights, re-anchored
every ``K`` steps.

The code's defaults: ``main.py`` runs ``T = 3`` (the class default is 10),
``K = 10`` (hard-coded), ``N = 30``, ``eta = 28``, ``c = 1e5``, momentum
1, ``eps`` 16/255 and ``alpha = eps / T`` (so eps/3 per inner step, 30
pixel steps in all); layers ``Mixed_5b`` (Inception-v3),
``conv2d_4a`` (Inception-ResNet-v2), ``layer2.7.relu`` (ResNet-152),
``features.6`` (Inception-v4): the zoo's default layers except for
Inception-v4, where ``features.6`` is ``Mixed_5b`` (the first Inception-A
block; BFA and the zoo use the last, ``Mixed_5e``). TransferAttack's port
(``transferattack/advanced_objective/p2fa.py``, commit 2663e4a) differs:
``T = 10`` with ``alpha = 1.6/255``, no pixel momentum in the update (its
``gg`` is computed and unused), and it applies the ImageNet
(de)normalisation to iterates that are already [0, 1] pixels when it
builds the copies, so its copy steps are ``eta / std`` (about 4.4 times
the code's).

**What this part computes.** The engine's loop is the code's inner loop
(its momentum-sign update with ``mean|g|`` normalisation and eps-ball
projection are the engine's update rule, and that momentum runs on across
outer iterations, as the code's ``gg`` does). The outer iterations are
this objective's :meth:`~fia_tf.attacks.objectives.base.Objective.advance`:
at every iteration ``t`` that is a multiple of ``p2fa_inner`` (``K``, 10
as in the code) it takes BFA's weights at the current iterate ``adv``,
adds them to its feature-space momentum ``g`` (decay ``momentum``, the
code's ``decay`` for both) and re-anchors the target::

  w  = BFA's weights at adv,   g = momentum * g + w
  f* = f(P(adv)) + p2fa_scale * g / ||g||_2
  value(adv') = -||f(adv') - f*||_2^2   (maximised, for K iterations)

So ``num_iter = T * K``: the code's ``main.py`` schedule is ``num_iter=30,
alpha=eps/3`` (``T = 3``); the default ``num_iter = 10`` is one outer
iteration, which the README's tables use so that every method gets the
same steps. An iteration count that is not a multiple of ``K`` ends with a
shorter last outer iteration.

Other differences from the official code, and why: BFA's (batch sums,
DI on the copies' passes, zero guards; see
:mod:`fia_tf.attacks.objectives.bfa`); with DI in the method the target's
anchor ``f(P(adv))`` is taken without DI, as in the code (which has no DI),
and each outer iteration's chain takes fresh DI draws (outer iteration
``o`` uses draws ``o * (N + 1) ..``); a zero ``g`` (all-zero weights) is
not divided by.
"""

import tensorflow as tf

from fia_tf.attacks import checks
from fia_tf.attacks import parts
from fia_tf.attacks.objectives import bfa
from fia_tf.attacks.objectives import fia


class PixelToFeature(bfa.BlackBoxFeature):
  """P2FA's objective: a far feature-space target, re-anchored every K."""
  eta_option = 'p2fa_eta'

  def __init__(self, context):
    super().__init__(context)
    self.scale = float(self.config.option('p2fa_scale'))
    self.inner = int(self.config.option('p2fa_inner'))
    self.decay = float(self.config.momentum)

  def _anchor(self, pixels, labels, ids, momentum, outer):
    """``(g, f*)`` of outer iteration ``outer`` at the iterate ``pixels``."""
    weights = fia.normalized_negative(self.importance_weights(
        pixels, labels, ids, first_draw=outer * (self.config.ens + 1)))
    momentum = self.decay * momentum + weights
    anchor = self.network.features(self.network.preprocess(pixels))
    return momentum, anchor + self.scale * bfa.unit_l2(momentum)

  def prepare(self, images, labels, ids):
    labels = tf.convert_to_tensor(labels, tf.int32)
    ids = tf.convert_to_tensor(ids, tf.int64)
    feature_shape = self.network.features_and_logits.outputs[0].shape[1:]
    zero = tf.zeros(tf.concat([tf.shape(images)[:1], feature_shape], 0))
    momentum, target = self._anchor(images, labels, ids, zero, 0)
    return labels, momentum, target

  def advance(self, state, iterate, ids, t):
    """Re-anchors at ``t = K, 2K, ..`` (``t = 0`` is :meth:`prepare`'s)."""
    labels, momentum, target = state
    if isinstance(t, int):
      if t == 0 or t % self.inner:
        return state
      return (labels,) + self._anchor(iterate, labels, ids, momentum,
                                      t // self.inner)
    return (labels,) + tuple(tf.cond(
        tf.logical_and(t > 0, t % self.inner == 0),
        lambda: self._anchor(iterate, labels, ids, momentum, t // self.inner),
        lambda: (momentum, target)))

  def __call__(self, out, state, clean):
    del clean
    target = state[-1]
    return -tf.reduce_sum(tf.square(out - target), axis=[1, 2, 3])


parts.OBJECTIVES.register(
    'p2fa', PixelToFeature, token='P2FA', settings=('ens',),
    description='P2FA: invert a far feature-space step, re-anchored every '
                'p2fa_inner iterations',
    options=(
        parts.Option('p2fa_eta', 28.0,
                     lambda n, v: checks.check_real(n, v, low=0.0),
                     "BFA's copy step, L2 in [0, 1] pixels (the code's eta)"),
        parts.Option('p2fa_scale', 1e5,
                     lambda n, v: checks.check_real(n, v, low=0.0,
                                                    low_open=True),
                     "length of the feature-space step (the code's 1e5)"),
        parts.Option('p2fa_inner', 10,
                     lambda n, v: checks.check_int(n, v, low=1),
                     'iterations per outer iteration (target re-anchored '
                     "every so many; the code's 10)"),
    ))
