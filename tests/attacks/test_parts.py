"""Input/gradient transforms and update rules against independent references."""

import numpy as np
import pytest
import scipy.ndimage
import scipy.stats
import tensorflow as tf

import fia_tf
from fia_tf.attacks import gradient_transforms
from fia_tf.attacks import input_transforms
from fia_tf.attacks import objectives
from fia_tf.attacks import parts
from fia_tf.attacks import rng
from fia_tf.attacks import updates


def _di_reference(image, rnd, top, left, size, resize):
  """The original's DI with fixed draws, from TF1 resize ops."""
  x = tf.constant(image[None])
  x = tf.compat.v1.image.resize_images(
      x, [rnd, rnd], method=tf.image.ResizeMethod.NEAREST_NEIGHBOR)
  rem = resize - rnd
  x = tf.pad(x, [[0, 0], [top, rem - top], [left, rem - left], [0, 0]])
  x = tf.compat.v1.image.resize_images(
      x, [size, size], method=tf.image.ResizeMethod.NEAREST_NEIGHBOR)
  return x.numpy()[0]


@pytest.mark.parametrize('size,resize', [(32, 36), (224, 250), (299, 330)])
def test_input_diversity_equals_tf1_resize_pad_resize(size, resize):
  di = input_transforms.InputDiversity(size, resize, prob=1.0)
  keys = rng.keys(5, rng.DI, 0, tf.range(8, dtype=tf.int64))
  u = rng.uniform(keys, [4]).numpy()
  images = np.random.RandomState(0).randn(8, size, size, 3).astype(np.float32)
  ours = di(tf.constant(images), keys).numpy()
  for b in range(8):
    rnd = size + int(np.floor(u[b, 0] * (resize - size)))
    rem = resize - rnd
    top, left = (int(np.floor(v * rem)) for v in u[b, 1:3])
    np.testing.assert_array_equal(
        ours[b], _di_reference(images[b], rnd, top, left, size, resize))


def test_input_diversity_probability_and_identity():
  di = input_transforms.InputDiversity(32, 36, prob=0.0)
  keys = rng.keys(0, rng.DI, 0, tf.range(4, dtype=tf.int64))
  x = tf.random.normal([4, 32, 32, 3])
  np.testing.assert_array_equal(di(x, keys).numpy(), x.numpy())
  di = input_transforms.InputDiversity(32, 36, prob=0.5)
  keys = rng.keys(0, rng.DI, 0, tf.range(400, dtype=tf.int64))
  rows, cols = (m.numpy() for m in di.index_maps(keys))
  identity = np.arange(32)
  changed = np.mean(np.any(rows != identity, 1) | np.any(cols != identity, 1))
  assert 0.4 < changed < 0.6


def test_ti_kernel_and_smoothing_match_scipy():
  kernel = gradient_transforms.gaussian_kernel(15, 3)
  pdf = scipy.stats.norm.pdf(np.linspace(-3, 3, 15))
  expected = np.outer(pdf, pdf) / np.outer(pdf, pdf).sum()
  np.testing.assert_allclose(kernel, expected, rtol=1e-6)
  grad = np.random.RandomState(1).randn(2, 20, 20, 3).astype(np.float32)
  ours = gradient_transforms.TranslationInvariance(15, 3, 3)(tf.constant(grad)).numpy()
  for b in range(2):
    for c in range(3):
      ref = scipy.ndimage.correlate(grad[b, :, :, c], expected,
                                    mode='constant')
      np.testing.assert_allclose(ours[b, :, :, c], ref, atol=1e-5)


def test_momentum_sign_step_by_hand():
  grad = np.zeros((1, 2, 2, 1), np.float32)
  grad[0, :, :, 0] = [[2.0, -4.0], [0.0, 2.0]]  # mean |g| = 2
  acc = np.full_like(grad, 0.25)
  x = np.full_like(grad, 100.0)
  rule = updates.MomentumSign(alpha=1.6, eps=16.0, momentum=1.0)
  new_x, new_acc, _ = rule(tf.constant(x), tf.constant(grad),
                           tf.constant(acc), tf.zeros_like(x))
  np.testing.assert_allclose(new_acc.numpy()[0, :, :, 0],
                             [[1.25, -1.75], [0.25, 1.25]])
  np.testing.assert_allclose(new_x.numpy()[0, :, :, 0],
                             [[101.6, 98.4], [101.6, 101.6]], rtol=1e-6)


def test_zero_gradient_gives_zero_step_not_nan():
  rule = updates.MomentumSign(alpha=1.6, eps=16.0, momentum=1.0)
  x = tf.fill([1, 3, 3, 3], 50.0)
  new_x, acc, _ = rule(x, tf.zeros_like(x), tf.zeros_like(x), tf.zeros_like(x))
  assert np.all(np.isfinite(new_x.numpy()))
  np.testing.assert_array_equal(new_x.numpy(), x.numpy())
  np.testing.assert_array_equal(acc.numpy(), 0)


def test_patch_wise_step_by_hand():
  # One channel, 3x3, eps 1, step alpha*beta = 2, gamma*step = 1: after one
  # step |amp| = 2 everywhere, the cut 1 spreads through the kernel.
  rule = updates.PatchWise(alpha=0.5, eps=1.0, momentum=1.0,
                           amplification_factor=4.0, gamma=0.5, kernel_size=3,
                           channels=1)
  grad = np.ones((1, 3, 3, 1), np.float32)
  grad[0, 1, 1, 0] = -1.0
  x = np.zeros_like(grad)
  new_x, _, amp = rule(tf.constant(x), tf.constant(grad), tf.zeros_like(grad),
                       tf.zeros_like(grad))
  sign = np.sign(grad[0, :, :, 0])
  cut = sign * 1.0  # relu(|2| - 1) * sign
  kernel = updates.projection_kernel(3)
  spread = scipy.ndimage.correlate(cut, kernel, mode='constant')
  expected = 2.0 * sign + 1.0 * np.sign(spread)
  np.testing.assert_allclose(new_x.numpy()[0, :, :, 0], expected)
  np.testing.assert_allclose(amp.numpy()[0, :, :, 0], expected)


def _objective(cls, **settings):
  """An objective part built for a config, with no network (values only)."""
  config = fia_tf.AttackConfig(**settings)
  return cls(parts.Context(config=config, network=None, scale=1.0))


def test_objective_values_by_hand():
  rs = np.random.RandomState(3)
  feats = rs.randn(2, 3, 3, 4).astype(np.float32)
  clean = rs.randn(2, 3, 3, 4).astype(np.float32)
  weights = rs.randn(2, 3, 3, 4).astype(np.float32)
  fia = _objective(objectives.FeatureImportance)(tf.constant(feats),
                                                 (weights,), None)
  np.testing.assert_allclose(fia.numpy(), (feats * weights).sum((1, 2, 3)) / 36,
                             rtol=1e-5)
  nrdm = _objective(objectives.FeatureDistortion, method='NRDM')(
      tf.constant(feats), (), tf.constant(clean))
  np.testing.assert_allclose(
      nrdm.numpy(), np.sqrt(((feats - clean)**2).sum((1, 2, 3))) / 36,
      rtol=1e-5)
  good = clean < clean.mean(-1, keepdims=True)
  e_good = ((feats * good)**2).sum((1, 2, 3))
  e_bad = ((feats * ~good)**2).sum((1, 2, 3))
  fda = _objective(objectives.FeatureDisruption, method='FDA')(
      tf.constant(feats), (), tf.constant(clean))
  np.testing.assert_allclose(fda.numpy(), np.log(e_good) - np.log(e_bad),
                             rtol=1e-5)
  fda_batch = _objective(objectives.FeatureDisruption, method='FDA',
                         fda_reduction='batch')(
                             tf.constant(feats), (), tf.constant(clean))
  np.testing.assert_allclose(fda_batch.numpy().sum(),
                             np.log(e_good.sum()) - np.log(e_bad.sum()),
                             rtol=1e-5)
  logits = rs.randn(2, 5).astype(np.float32)
  ce = _objective(objectives.CrossEntropy, method='MIM', ce_labels='true')(
      tf.constant(logits), ([1, 4],), None)
  logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
  np.testing.assert_allclose(ce.numpy(), -logp[[0, 1], [1, 4]], rtol=1e-5)


def test_rng_is_uniform_independent_and_backend_stable():
  ids = tf.range(200, dtype=tf.int64)
  draw = lambda: rng.uniform(rng.keys(9, rng.MASK, 3, ids), [500])
  eager = draw().numpy()
  xla = tf.function(draw, jit_compile=True)().numpy()
  np.testing.assert_array_equal(eager, xla)
  assert abs(eager.mean() - 0.5) < 0.01 and abs(eager.var() - 1 / 12) < 0.002
  assert 0 <= eager.min() and eager.max() < 1
  # Different purposes, counters and ids give unrelated streams.
  other = rng.uniform(rng.keys(9, rng.MASK, 4, ids), [500]).numpy()
  assert abs(np.corrcoef(eager.ravel(), other.ravel())[0, 1]) < 0.01
  z = rng.normal(rng.keys(1, rng.NRDM_INIT, 0, ids), [500]).numpy()
  assert abs(z.mean()) < 0.02 and abs(z.std() - 1) < 0.02
