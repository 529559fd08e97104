"""DANAA (Jin et al., ADMA 2023, arXiv 2310.10427): NAA on an adversarial path.

Paper: "DANAA: Towards Transferable Attacks with Double Adversarial Neuron
Attribution" (International Conference on Advanced Data Mining and
Applications, LNCS, pp. 456-470). Official code: github.com/Davidjinzb/DANAA
(TF1 + slim, ``DANAA.py``, written on top of NAA's code; we read commit
7bd89fa). The paper's text was not available to us; everything below is
what that code computes, which is what we implement.

DANAA keeps NAA's target (the true class's **softmax** probability, not the
logit), NAA's loss and NAA's normalisation, and replaces NAA's straight
path from the image to a black baseline by an *adversarial* path that is
walked by gradient steps. In the model-input domain, with ``P`` the
preprocessing and ``y`` the true label, point ``x_0 = P(x)`` and, for
``l = 0 .. ens-1``,

    c_l     = x_l + n_l,              n_l ~ N(0, danaa_noise_std^2)
    g_l     = d softmax(logits(c_l))_y / d features(c_l)
    x_{l+1} = x_l - danaa_step * sign(d softmax(logits(c_l))_y / d c_l)

(the code writes the last line as a step along ``sign`` of the gradient of
``-softmax_y``: each step lowers the true class's probability). The noise
is drawn per copy, pixel and channel and is *not* carried along the path:
the step is added to the un-noised ``x_l``. Nothing is clipped. The
weights are

    W = -sum_l g_l / ||sum_l g_l||_2      (per image, no 1/ens factor),

and the value maximised is NAA's, with the path's **end** as baseline (the
code computes NAA's black baseline and never uses it):

    sum(max(A, 0) + danaa_gamma * min(A, 0)) / size,
    A = (features(x_adv) - features(x_ens)) * W,

``size = H * W * C`` of the feature map. The official defaults:
``ens = 30`` path points, ``scale = 0.25`` (noise std) and step ``0.0025``,
both in model-input units whatever the model's range (for [-1, 1] inputs
that is ~32 and ~0.32 grey levels; for the mean-subtracted 0..255 inputs
of VGG and ResNet-v1, 0.25 and 0.0025 of one level), ``gamma = 1.0``
hard-coded (its ``--gamma`` flag is PI's), the true label, the feature
layer of FIA (``Mixed_5b`` for Inception-v3, its README command), and for
the iterations ``num_iter = 15``, ``alpha = 1.07``, ``eps = 16``, momentum
1.0. ``ens = 0`` takes the gradient at the clean image alone and the clean
image's features as baseline (as the code, whose path loop then does not
run). The iteration settings are the shared :class:`fia_tf.AttackConfig`
fields; pass ``num_iter=15, alpha=1.07`` for the code's numbers.

Where we differ from the official code, and why:

* The noise is keyed per image and path point (:mod:`fia_tf.attacks.rng`,
  purpose 7), not unseeded ``np.random.normal``: same seed, same bytes,
  and no dependence on the batch.
* With DI in the method, every path point goes through DI with its own
  draw (keyed like NAA's copies) for both of its gradients, which share the
  draw, as in the code where both come from one ``sess.run``; the baseline
  feature is taken without DI, once (the code recomputes it every
  iteration through a fresh DI draw).
* The loss divides by the per-image feature size instead of the
  ``[2B, H, W, C]`` batch's (a constant the ``mean|g|`` step removes).
* An all-zero sum of gradients (a saturated softmax) gives zero weights,
  hence the clean image, where the code divides 0 by 0.
* The path is a graph loop over the ``ens`` points, each a pass of the B
  images (the points depend on one another, so they cannot be batched like
  NAA's copies); memory is that of one pass of the batch.
"""

import tensorflow as tf

from fia_tf.attacks import checks
from fia_tf.attacks import parts
from fia_tf.attacks import rng
from fia_tf.attacks.objectives import fia
from fia_tf.attacks.objectives import naa

DANAA_NOISE = rng.claim(7, "DANAA's path noise")


class DoubleAdversarialAttribution(fia.FeatureImportance):
  """DANAA's objective; subclasses may override :meth:`path_noise`."""
  target = staticmethod(naa.softmax_target)

  def __init__(self, context):
    super().__init__(context)
    self.gamma = float(self.config.option('danaa_gamma'))
    self.noise_std = float(self.config.option('danaa_noise_std'))
    self.step = float(self.config.option('danaa_step'))

  def path_noise(self, copy_index, ids):
    """``n_l`` of each image, ``[B, H, W, C]`` in model-input units."""
    keys = rng.keys(self.config.seed, DANAA_NOISE, copy_index, ids)
    return self.noise_std * rng.normal(keys, self.network.image_shape)

  def path_gradients(self, point, copy_index, ids, onehot):
    """Both gradients of ``softmax_y`` at path point ``copy_index``.

    Args:
      point: ``x_l``, ``[B, H, W, C]`` model input.
      copy_index: ``l`` (int scalar).
      ids: ``[B]`` image ids.
      onehot: ``[B, num_classes]`` true labels.

    Returns:
      ``(g_l, d softmax_y / d c_l)``: the feature gradient and the gradient
      with respect to the noised point, before DI.
    """
    noisy = point + self.path_noise(copy_index, ids)
    keys = rng.keys(self.config.seed, rng.MASK_DI, copy_index, ids)
    with tf.GradientTape(watch_accessed_variables=False) as tape:
      tape.watch(noisy)
      features, logits = self.network.features_and_logits(
          self.input_transform(noisy, keys), training=False)
      value = self.target(logits, onehot)
    feature_grad, input_grad = tape.gradient(value, [features, noisy])
    return feature_grad, input_grad

  def path(self, images, labels, ids):
    """The summed feature gradients and the path's end ``x_ens``.

    Returns:
      ``(sum_l g_l [B, *feature_shape], x_ens [B, H, W, C])``.
    """
    onehot = tf.one_hot(tf.convert_to_tensor(labels, tf.int32),
                        self.network.num_classes)
    ids = tf.convert_to_tensor(ids, tf.int64)
    point = self.network.preprocess(images)
    if self.config.ens == 0:
      keys = rng.keys(self.config.seed, rng.MASK_DI, 0, ids)
      total = self.network.feature_gradient(
          self.input_transform(point, keys), onehot, self.target)
      return total, point
    feature_shape = self.network.features_and_logits.outputs[0].shape[1:]
    total = tf.zeros(tf.concat([tf.shape(images)[:1], feature_shape], 0),
                     tf.float32)
    loop = range if self.network.unroll else tf.range
    for index in loop(self.config.ens):
      feature_grad, input_grad = self.path_gradients(point, index, ids,
                                                     onehot)
      # Added one point at a time in path order, so each image's sum is
      # the same float sequence whatever its batch.
      total = total + feature_grad
      point = point - self.step * tf.sign(input_grad)
    return total, point

  def pass_layout(self, batch):
    """How :meth:`prepare`'s copies run: ``ens`` passes of the whole batch.

    Same form as :meth:`fia_tf.Attack.pass_layout`: ``(images_per_pass,
    copies_per_pass, image_blocks, copy_passes)``.
    """
    return int(batch), 1, 1, max(int(self.config.ens), 1)

  def prepare(self, images, labels, ids):
    total, end = self.path(images, labels, ids)
    return fia.normalized_negative(total), self.network.features(end)

  def __call__(self, out, state, clean):
    del clean
    weights, base_features = state
    return naa.balanced_value(out, base_features, weights, self.gamma)


parts.OBJECTIVES.register(
    'danaa', DoubleAdversarialAttribution, token='DANAA', settings=('ens',),
    description='DANAA: NAA along an adversarial attribution path',
    options=(
        parts.Option('danaa_gamma', 1.0,
                     lambda n, v: checks.check_real(n, v, low=0.0),
                     "weight of negative attributions (the code's 1.0)"),
        parts.Option('danaa_noise_std', 0.25,
                     lambda n, v: checks.check_real(n, v, low=0.0),
                     'std of the path noise, model-input units'),
        parts.Option('danaa_step', 0.0025,
                     lambda n, v: checks.check_real(n, v, low=0.0),
                     'sign-step size of the path, model-input units'),
    ))
