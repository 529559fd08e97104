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

**What this part computes, and what it does not (yet).** The engine calls
an objective's preparation once, on the clean images, and then only maps
the network output of the iterate to a value: an objective never sees the
iterate, so it cannot recompute the weights and the target at ``adv``
every ``K`` steps. This part is therefore **the first outer iteration of
the code** (``T = 1``), run for ``num_iter`` inner steps by the engine's
loop, whose momentum-sign update with ``mean|g|`` normalisation and
eps-ball projection are the code's inner update::

  w  = BFA's weights at x,   f* = f(P(x)) + p2fa_scale * w
  value(adv) = -||f(adv) - f*||_2^2   (maximised)

With ``T = 1``, ``g = w`` and ``||w|| = 1``, so this is exactly the code's
first outer iteration. The outer re-anchoring needs the engine to hand
the objective the iterate every ``K`` iterations (a ``refresh(x, t,
state)`` hook); that is an engine change this part does not make. For the
code's inner step length pass ``alpha = eps / 3``.

Other differences from the official code, and why: BFA's (batch sums,
DI on the copies' passes, zero guards; see
:mod:`fia_tf.attacks.objectives.bfa`); with DI in the method the target's
anchor ``f(P(x))`` is taken without DI, as in the code (which has no DI).
"""

import tensorflow as tf

from fia_tf.attacks import checks
from fia_tf.attacks import parts
from fia_tf.attacks.objectives import bfa
from fia_tf.attacks.objectives import fia


class PixelToFeature(bfa.BlackBoxFeature):
  """P2FA's objective (one outer iteration; see the module doc)."""
  eta_option = 'p2fa_eta'

  def __init__(self, context):
    super().__init__(context)
    self.scale = float(self.config.option('p2fa_scale'))

  def prepare(self, images, labels, ids):
    weights = fia.normalized_negative(
        self.importance_weights(images, labels, ids))
    anchor = self.network.features(self.network.preprocess(images))
    return (anchor + self.scale * weights,)

  def __call__(self, out, state, clean):
    del clean
    (target,) = state
    return -tf.reduce_sum(tf.square(out - target), axis=[1, 2, 3])


parts.OBJECTIVES.register(
    'p2fa', PixelToFeature, token='P2FA', settings=('ens',),
    description='P2FA: invert a far feature-space step (first outer '
                'iteration)',
    options=(
        parts.Option('p2fa_eta', 28.0,
                     lambda n, v: checks.check_real(n, v, low=0.0),
                     "BFA's copy step, L2 in [0, 1] pixels (the code's eta)"),
        parts.Option('p2fa_scale', 1e5,
                     lambda n, v: checks.check_real(n, v, low=0.0,
                                                    low_open=True),
                     "length of the feature-space step (the code's 1e5)"),
    ))
