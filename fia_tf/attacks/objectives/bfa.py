"""BFA (Wang et al., Neurocomputing 2024): black-box feature attack.

Paper: M. Wang, J. Wang, B. Ma, X. Luo, "Improving the transferability of
adversarial examples through black-box feature attacks", Neurocomputing
2024, article 127863 (doi 10.1016/j.neucom.2024.127863; no arXiv version
that we found). Official code: github.com/tlemangen/BFA (PyTorch,
``attacks/bfa.py`` and the defaults in ``configs.py``; we read commit
b561ff3). We could not read the paper's full text (paywalled), so this
module follows the code. TransferAttack's port
(``transferattack/advanced_objective/bfa.py``, commit 2663e4a) computes the
same chain, except that its gradients are taken with respect to the [0, 1]
pixels (its model includes the normalisation), not the model input.

BFA keeps FIA's loss, ``sum(features(x) * W) / size`` (the code has no
``/ size``; the ``mean|g|`` step removes the constant), the gradient of
the true class's **logit** as the importance, and the ``W = -a / ||a||_2``
normalisation. What changes are the copies the importance is summed over.
They are not masked (the code calls them ``images_masked``, and
TransferAttack's docstring lists a ``drop_rate``, but nothing is dropped);
they are a deterministic chain of large gradient steps away from the
image. With ``P`` the preprocessing, ``x`` the clean pixels, ``y`` the
label and ``N = ens``::

  x_0 = x
  d_k = grad_m CE(logits(m), y) at m = P(x_{k-1}),  g_k = d_k / ||d_k||_2
  x_k = x + eta * g_k                     (k = 1 .. N)
  a   = sum_{k=1..N} grad_features logit_y(P(x_k))

so every copy starts again from the clean image, one step of L2 length
``eta`` along the (unit) cross-entropy gradient taken at the previous
copy: the weights come from points an I-FGSM-like attacker would visit
("black-box features" in the paper's title: features of adversarial
points, not of the clean one). The clean image's own logit gradient is not
in the sum. The norm of ``d_k`` runs over the whole image (all pixels and
channels), per image.

Units, as in the code: ``g_k`` is the unit gradient with respect to the
**model input** (the code's normalised tensor), while the step is taken
in **pixels** (the code's ``denormalize(x) + eta * g``, pixels in [0, 1]).
We do the same, pixels being 0..255 here: ``x_k = x + 255 * eta * g_k``
with ``bfa_eta = 28`` (the code's ``eta``). The copies are not clipped to
the pixel range (neither does the code). ``ens = 0`` gives the clean
image's logit gradient alone (FIA with ``ens = 0``); the code has no such
case.

The code's defaults (``configs.py``): ``ens`` 30 (``ensemble_number``),
``eta`` 28, 10 steps, ``eps`` 16/255, ``alpha = eps / steps``, momentum 1
with ``mean|g|`` normalisation, on 299 x 299 images; the feature layer is
``Mixed_5b`` for Inception-v3, ``layer2.7`` for ResNet-152 and
``features.15`` (the ReLU after conv3_3) for VGG-16, ``features.9``
(the last Inception-A block) for timm's Inception-v4 and ``conv2d_4a`` for
Inception-ResNet-v2. These are the zoo's default (FIA) layers of the slim
nets: ``Mixed_5b``, ``resnet_v1_152/block2/unit_8`` (torchvision's
``layer2.7``), ``conv3/conv3_3``, ``Mixed_5e`` and ``Conv2d_4a_3x3``; the
default layer is BFA's as well.

``eta`` is an absolute L2 length, so the per-pixel size of a step shrinks
with the image: 28 at 299 x 299 is about 14/255 RMS per pixel and channel
(18/255 at 224 x 224). On small test images, scale it (``28 * side /
299`` keeps the code's per-pixel step).

Where we differ from the official code, and why:

* The cross-entropy and the logit target are summed over the batch where
  the code averages them; the per-image L2 normalisation removes the
  ``1 / B``, and a sum keeps each image's numbers independent of its batch.
* With DI in the method (``BFAPIDIM``), copy ``k``'s forward pass (the one
  both its logit gradient and the next copy's cross-entropy gradient come
  from) goes through DI with its own draw (keyed like FIA's masked copies),
  as FIA's copies do; the code has no DI.
* All-zero gradients (a dead layer) give zero steps and zero weights, not
  NaN.
* The chain cannot be split over copies (copy ``k`` needs copy ``k - 1``),
  so each of its ``N + 1`` passes holds the whole batch (as the iterations
  do), not :attr:`fia_tf.attacks.network.Network.mask_batch` copies.
"""

import tensorflow as tf

from fia_tf.attacks import checks
from fia_tf.attacks import parts
from fia_tf.attacks import rng
from fia_tf.attacks.objectives import fia

PIXEL_RANGE = 255.0


def unit_l2(tensor):
  """``tensor / ||tensor||_2`` per image (zero stays zero)."""
  norm = tf.sqrt(tf.reduce_sum(tf.square(tensor), axis=[1, 2, 3],
                               keepdims=True))
  return tensor / tf.where(norm > 0, norm, tf.ones_like(norm))


class BlackBoxFeature(fia.FeatureImportance):
  """BFA's objective: FIA's loss, weights along the gradient-step chain."""

  #: The option holding the step length (subclasses have their own).
  eta_option = 'bfa_eta'

  def __init__(self, context):
    super().__init__(context)
    self.eta = float(self.config.option(self.eta_option))

  def copies_per_image(self):
    """N copies, each a forward pass and two backward passes."""
    return self.config.ens

  def _chain_pass(self, pixels, index, ids, onehot, labels, want_features,
                  want_step):
    """One forward pass of the chain at ``pixels`` (DI draw ``index``).

    Returns:
      ``(feature gradient of the selected logits or None, unit CE gradient
      with respect to the model input or None)``.
    """
    keys = rng.keys(self.config.seed, rng.MASK_DI, index, ids)
    with tf.GradientTape(watch_accessed_variables=False,
                         persistent=want_features and want_step) as tape:
      model_input = self.network.preprocess(pixels)
      tape.watch(model_input)
      transformed = self.input_transform(model_input, keys)
      if want_features:
        features, logits = self.network.features_and_logits(transformed,
                                                            training=False)
        target = self.target(logits, onehot)
      else:
        logits = self.network.logits(transformed)
      if want_step:
        loss = tf.reduce_sum(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits))
    feature_grad = tape.gradient(target, features) if want_features else None
    step = unit_l2(tape.gradient(loss, model_input)) if want_step else None
    del tape
    return feature_grad, step

  def chain(self, images, labels, ids):
    """The copies ``x_1 .. x_N`` of each image, ``[N, B, H, W, C]`` pixels.

    A diagnostic (the attack does not keep them): the same passes as
    :meth:`importance_weights`.
    """
    labels = tf.convert_to_tensor(labels, tf.int32)
    ids = tf.convert_to_tensor(ids, tf.int64)
    onehot = tf.one_hot(labels, self.network.num_classes)
    copies = []
    current = images
    for index in range(self.config.ens):
      _, step = self._chain_pass(current, index, ids, onehot, labels, False,
                                 True)
      current = images + PIXEL_RANGE * self.eta * step
      copies.append(current)
    return tf.stack(copies)

  def importance_weights(self, images, labels, ids, first_draw=0):
    """``a``: the summed logit gradients at ``x_1 .. x_N`` (see the module
    doc), before normalisation and negation.

    Args:
      images, labels, ids: the chain's start (pixels), labels and ids.
      first_draw: index of the first pass's DI draw (passes take
        ``first_draw .. first_draw + N``), so that a second chain (P2FA's
        later outer iterations) takes fresh draws.
    """
    labels = tf.convert_to_tensor(labels, tf.int32)
    ids = tf.convert_to_tensor(ids, tf.int64)
    onehot = tf.one_hot(labels, self.network.num_classes)
    copies = self.config.ens
    if copies == 0:
      return self._chain_pass(images, first_draw, ids, onehot, labels, True,
                              False)[0]
    _, step = self._chain_pass(images, first_draw, ids, onehot, labels, False,
                               True)
    current = images + PIXEL_RANGE * self.eta * step
    feature_shape = self.network.features_and_logits.outputs[0].shape[1:]
    aggregate = tf.zeros(tf.concat([tf.shape(images)[:1], feature_shape], 0))
    loop = range if self.network.unroll else tf.range
    for index in loop(1, copies):
      grad, step = self._chain_pass(current, first_draw + index, ids, onehot,
                                    labels, True, True)
      aggregate = aggregate + grad
      current = images + PIXEL_RANGE * self.eta * step
    # The last copy needs no step after it.
    grad, _ = self._chain_pass(current, first_draw + copies, ids, onehot,
                               labels, True, False)
    return aggregate + grad


parts.OBJECTIVES.register(
    'bfa', BlackBoxFeature, token='BFA', settings=('ens',),
    description='BFA: FIA weights at gradient-step (adversarial) copies',
    options=(
        parts.Option('bfa_eta', 28.0,
                     lambda n, v: checks.check_real(n, v, low=0.0),
                     "L2 length of each copy's step, pixels in [0, 1] "
                     "(the code's eta)"),
    ))
