"""NAA and RPA parts on a tiny model: their defining steps against NumPy.

The comparison with the authors' code is ``tests/zoo/test_golden_naa_rpa.py``;
here each defining computation is re-stated independently.
"""

import numpy as np
import pytest
import tensorflow as tf

import fia_tf
from fia_tf.attacks import parts
from fia_tf.attacks.objectives import rpa as rpa_lib


@pytest.mark.parametrize('method,objective,modifiers', [
    ('NAA', 'naa', {}), ('NAAPIDIM', 'naa', {'update': 'pi',
                                             'input_transform': 'di'}),
    ('naa+ti', 'naa', {'gradient_transform': 'ti'}),
    ('RPA', 'rpa', {}), ('RPA+PIDIM', 'rpa', {'update': 'pi',
                                              'input_transform': 'di'}),
    ('RPA_FIA', 'rpa', {}), ('RPAFIATIDIM', 'rpa',
                             {'gradient_transform': 'ti',
                              'input_transform': 'di'})])
def test_methods_parse(method, objective, modifiers):
  got = fia_tf.parse_method(method)
  assert got.objective == objective
  for kind, name in modifiers.items():
    assert getattr(got, kind) == name
  assert fia_tf.parse_method(got.name) == got


@pytest.mark.parametrize('method', ['NAAX', 'RPAA', 'NAARPA', 'NAANAA'])
def test_bad_methods_state_the_grammar(method):
  with pytest.raises(ValueError, match='A method is an optional objective'):
    fia_tf.parse_method(method)


def test_options_defaults_values_and_errors():
  config = fia_tf.AttackConfig(method='NAA')
  assert config.option('naa_gamma') == 1.0
  assert config.option('naa_noise_std') == 0.2
  config = fia_tf.AttackConfig(method='NAAPI', options={'naa_gamma': 0.5})
  assert config.option('naa_gamma') == 0.5
  assert fia_tf.AttackConfig.from_dict(config.to_dict()) == config
  assert fia_tf.AttackConfig(method='RPA').option('rpa_masks') == 'pixel'
  with pytest.raises(ValueError, match=r"no option\(s\) \['naa_gamma'\]"):
    fia_tf.AttackConfig(method='FIA', options={'naa_gamma': 0.5})
  with pytest.raises(ValueError, match='naa_gamma must be >= 0.0'):
    fia_tf.AttackConfig(method='NAA', options={'naa_gamma': -1.0})
  with pytest.raises(ValueError, match="rpa_masks must be one of"):
    fia_tf.AttackConfig(method='RPA', options={'rpa_masks': 'square'})
  names = [o.name for o in parts.OBJECTIVES['naa'].options]
  assert names == ['naa_gamma', 'naa_noise_std']


def _softmax(z):
  e = np.exp(z - z.max(axis=1, keepdims=True))
  return e / e.sum(axis=1, keepdims=True)


def test_naa_path_and_weights_match_numpy(tiny_source, images, labels):
  """Integrated gradients along the official path, without noise."""
  ens = 4
  attack = fia_tf.Attack(tiny_source, fia_tf.AttackConfig(
      method='NAA', ens=ens, options={'naa_noise_std': 0.0}))
  objective = attack.objective
  ids = tf.range(6, dtype=tf.int64)
  x = tiny_source.preprocess(tf.constant(images)).numpy()
  black = tiny_source.preprocess(tf.zeros((1, 32, 32, 3))).numpy()
  total = 0
  for l in range(ens):
    fed = objective.copy(tf.constant(images), tf.fill([6], l), ids).numpy()
    expected = x * (1 - l / ens) + (l / ens) * black
    np.testing.assert_allclose(fed, expected, rtol=1e-6, atol=1e-6)
    # d softmax_y / d features, by the tape on an independent graph.
    inputs = tf.constant(expected, tf.float32)
    with tf.GradientTape() as tape:
      features, logits = attack.features_and_logits(inputs)
      probs = tf.nn.softmax(logits)
      chosen = tf.reduce_sum(probs * tf.one_hot(labels, 10))
    total = total + tape.gradient(chosen, features).numpy()
  norm = np.sqrt((total**2).sum(axis=(1, 2, 3), keepdims=True))
  weights, base = objective.prepare(tf.constant(images), labels, ids)
  np.testing.assert_allclose(weights.numpy(), -total / norm, rtol=1e-4,
                             atol=1e-6)
  np.testing.assert_allclose(
      base.numpy(), attack.feature_model(black).numpy(), rtol=1e-6)
  # Softmax, not logits: the logit-gradient direction is a different one.
  fia = fia_tf.Attack(tiny_source, fia_tf.AttackConfig(method='FIA', ens=0))
  fia_w = fia.objective.prepare(tf.constant(images), labels, ids)[0].numpy()
  naa0 = fia_tf.Attack(tiny_source, fia_tf.AttackConfig(method='NAA', ens=0))
  naa_w = naa0.objective.prepare(tf.constant(images), labels, ids)[0].numpy()
  assert np.abs(fia_w - naa_w).max() > 1e-3


def test_naa_noise_is_keyed_and_has_the_set_std(tiny_source, images, labels):
  attack = fia_tf.Attack(tiny_source, fia_tf.AttackConfig(method='NAA',
                                                          ens=2))
  objective = attack.objective
  ids = tf.constant([5, 9], tf.int64)
  noise = objective.path_noise(tf.constant([0, 0]), ids).numpy()
  assert abs(noise.std() - 0.2) < 0.01 and abs(noise.mean()) < 0.01
  again = objective.path_noise(tf.constant([0, 1]), tf.constant([9, 9],
                                                               tf.int64))
  np.testing.assert_array_equal(again.numpy()[0], noise[1])
  assert np.abs(again.numpy()[1] - noise[1]).max() > 0.1
  # The weights of an image do not depend on its batch.
  alone = objective.prepare(tf.constant(images[2:3]), labels[2:3],
                            tf.constant([2], tf.int64))[0].numpy()
  batch = objective.prepare(tf.constant(images), labels,
                            tf.range(6, dtype=tf.int64))[0].numpy()
  np.testing.assert_allclose(alone[0], batch[2], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize('gamma', [1.0, 0.25])
def test_naa_value_matches_numpy(tiny_source, images, labels, gamma):
  attack = fia_tf.Attack(tiny_source, fia_tf.AttackConfig(
      method='NAA', ens=0, options={'naa_gamma': gamma}))
  state = attack.objective.prepare(tf.constant(images), labels,
                                   tf.range(6, dtype=tf.int64))
  weights, base = (s.numpy() for s in state)
  out = attack.feature_model(tiny_source.preprocess(
      tf.constant(images[::-1].copy()))).numpy()
  a = (out - base) * weights
  expected = (np.maximum(a, 0) + gamma * np.minimum(a, 0)).sum(
      axis=(1, 2, 3)) / a[0].size
  got = attack.objective(tf.constant(out), state, None).numpy()
  np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-9)


def test_rpa_with_ens0_is_fia_with_ens0(tiny_source, images, labels):
  config = dict(ens=0, num_iter=3)
  rpa = fia_tf.Attack(tiny_source, fia_tf.AttackConfig(method='RPA',
                                                       **config))
  fia = fia_tf.Attack(tiny_source, fia_tf.AttackConfig(method='FIA',
                                                       **config))
  np.testing.assert_array_equal(rpa(images, labels).numpy(),
                                fia(images, labels).numpy())


def test_pixel_masks_keep_or_darken(tiny_source, images, labels):
  attack = fia_tf.Attack(tiny_source, fia_tf.AttackConfig(method='RPA',
                                                          keep_prob=0.7))
  masks = attack.objective.masks(tf.range(8), tf.fill([8], tf.constant(
      3, tf.int64))).numpy()
  assert masks.shape == (8, 32, 32, 3)
  kept = masks == 1
  assert abs(kept.mean() - 0.7) < 0.02
  dropped = masks[~kept]
  assert dropped.min() >= 0 and dropped.max() < 1
  assert abs(dropped.mean() - 0.5) < 0.03
  # The copy multiplies the raw pixels, then preprocesses.
  fed = attack.objective.copy(tf.constant(images[:1]), tf.constant([2]),
                              tf.constant([3], tf.int64)).numpy()
  expected = tiny_source.preprocess(images[:1] * masks[2:3]).numpy()
  np.testing.assert_allclose(fed, expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize('patch', rpa_lib.PATCH_SIZES)
def test_patch_masks_drop_exact_cells(patch):
  size, keep = 32, 0.7
  uniform = tf.constant(np.random.RandomState(patch).uniform(
      size=(3, 2, size, size, 3)), tf.float32)
  masks = rpa_lib.patch_masks(uniform, keep, patch).numpy()
  rows = size // patch
  cells = rows * rows * 3
  covered = masks[:, :rows * patch, :rows * patch]
  grid = covered.reshape(3, rows, patch, rows, patch, 3)
  dropped = (grid != 1).any(axis=(2, 4))       # [copy, row, col, channel]
  # A dropped cell is dropped on every pixel (U(0,1) is never exactly 1).
  assert np.array_equal(dropped, (grid != 1).all(axis=(2, 4)))
  assert (dropped.reshape(3, -1).sum(axis=1) == int(cells * (1 - keep))).all()
  # The strips a whole patch does not fit are never masked.
  assert (masks[:, rows * patch:] == 1).all()
  assert (masks[:, :, rows * patch:] == 1).all()
  # Dropped pixels take the second plane's values.
  values = uniform.numpy()[:, 1][:, :rows * patch, :rows * patch]
  np.testing.assert_array_equal(covered[covered != 1], values[covered != 1])


def test_patch_option_picks_size_by_copy(tiny_source):
  attack = fia_tf.Attack(tiny_source, fia_tf.AttackConfig(
      method='RPA', options={'rpa_masks': 'patch'}))
  masks = attack.objective.masks(tf.range(6), tf.fill([6], tf.constant(
      1, tf.int64))).numpy()
  for copy in range(6):
    patch = rpa_lib.PATCH_SIZES[copy % 3]
    rows = 32 // patch
    grid = masks[copy, :rows * patch, :rows * patch].reshape(
        rows, patch, rows, patch, 3)
    assert np.array_equal((grid != 1).any(axis=(1, 3)),
                          (grid != 1).all(axis=(1, 3))), (copy, patch)
    assert (masks[copy, rows * patch:] == 1).all()


@pytest.mark.parametrize('method', ['NAA', 'RPA', 'NAAPIDIM', 'RPA+TIDIM'])
def test_family_stays_in_budget_and_is_deterministic(tiny_source, images,
                                                     labels, method):
  config = fia_tf.AttackConfig(method=method, ens=3, num_iter=3)
  attack = fia_tf.Attack(tiny_source, config)
  ids = np.arange(6)
  first = attack(images, labels, ids).numpy()
  again = fia_tf.Attack(tiny_source, config)(images, labels, ids).numpy()
  np.testing.assert_array_equal(first, again)
  assert np.abs(first - images).max() <= 16 + 1e-4
  assert first.min() >= 0 and first.max() <= 255
  assert np.abs(first - images).max() > 1
