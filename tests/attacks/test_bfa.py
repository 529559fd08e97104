"""BFA on tiny models: its chain and weights against NumPy, its properties,
parsing, determinism and a black-box check on models trained here."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import fia_tf
from fia_tf.attacks import parts
from tests.helpers import attack_checks
from tests.helpers import transfer


@pytest.mark.parametrize('method,modifiers', [
    ('BFA', {}), ('BFAPIDIM', {'update': 'pi', 'input_transform': 'di'}),
    ('BFA+TIDIM', {'gradient_transform': 'ti', 'input_transform': 'di'}),
    ('bfa-pi', {'update': 'pi'}), ('BFADIM', {'input_transform': 'di'})])
def test_methods_parse(method, modifiers):
  got = fia_tf.parse_method(method)
  assert got.objective == 'bfa'
  for kind in ('input_transform', 'gradient_transform', 'update'):
    default = parts.TABLES[kind].default
    assert getattr(got, kind) == modifiers.get(kind, default)
  assert fia_tf.parse_method(got.name) == got


@pytest.mark.parametrize('method', ['BFAA', 'BFAFIA', 'BF', 'BFABFA',
                                    'BFAPIPI'])
def test_bad_methods_state_the_grammar(method):
  with pytest.raises(ValueError, match='A method is an optional objective'):
    fia_tf.parse_method(method)


def test_options():
  assert fia_tf.AttackConfig(method='BFA').option('bfa_eta') == 28.0
  config = fia_tf.AttackConfig(method='BFAPIDIM', options={'bfa_eta': 3.0})
  assert config.option('bfa_eta') == 3.0
  assert fia_tf.AttackConfig.from_dict(config.to_dict()) == config
  with pytest.raises(ValueError, match='bfa_eta must be >= 0.0'):
    fia_tf.AttackConfig(method='BFA', options={'bfa_eta': -1.0})
  with pytest.raises(ValueError, match=r"no option\(s\) \['bfa_eta'\]"):
    fia_tf.AttackConfig(method='FIA', options={'bfa_eta': 3.0})
  assert [o.name for o in parts.OBJECTIVES['bfa'].options] == ['bfa_eta']
  assert parts.OBJECTIVES['bfa'].settings == ('ens',)


# -- a net whose gradients NumPy can write down -------------------------------

SIZE, CH, FEAT, CLASSES = 4, 2, 3, 3


def _relu_linear_net():
  """model input -> 1x1 conv A (feature layer 'lin') -> relu -> mean -> B."""
  rs = np.random.RandomState(3)
  a = rs.normal(0, 1, (CH, FEAT)).astype(np.float32)
  b = rs.normal(0, 1, (FEAT, CLASSES)).astype(np.float32)
  bias = rs.normal(0, 0.1, CLASSES).astype(np.float32)
  inputs = keras.Input((SIZE, SIZE, CH))
  x = keras.layers.Conv2D(FEAT, 1, use_bias=False, name='lin')(inputs)
  x = keras.layers.Activation('relu')(x)
  x = keras.layers.GlobalAveragePooling2D()(x)
  outputs = keras.layers.Dense(CLASSES, name='logits')(x)
  model = keras.Model(inputs, outputs)
  model.get_layer('lin').set_weights([a[None, None]])
  model.get_layer('logits').set_weights([b, bias])
  return model, a, b, bias


def _numpy_bfa(pixels, label, a, b, bias, ens, eta):
  """BFA's chain and aggregate re-stated in NumPy for the net above."""
  def forward(p):
    m = p / 127.5 - 1.0
    f = m @ a                                 # [H, W, FEAT]
    z = np.maximum(f, 0).mean(axis=(0, 1)) @ b + bias
    return m, f, z

  def feature_grad(f):                        # d z_label / d f
    return (f > 0) * b[:, label] / (SIZE * SIZE)

  def ce_grad(f, z):                          # d CE / d m
    p = np.exp(z - z.max())
    p /= p.sum()
    dz = p - np.eye(CLASSES)[label]
    df = (f > 0) * (b @ dz) / (SIZE * SIZE)
    return df @ a.T

  copies, total = [], 0.0
  _, f, z = forward(pixels)
  for _ in range(ens):
    d = ce_grad(f, z)
    copy = pixels + 255.0 * eta * d / np.sqrt((d**2).sum())
    copies.append(copy)
    _, f, z = forward(copy)
    total = total + feature_grad(f)
  return np.stack(copies), -total / np.sqrt((total**2).sum())


@pytest.mark.parametrize('ens,eta', [(1, 0.5), (4, 0.5), (3, 0.05)])
def test_chain_and_weights_match_numpy(ens, eta):
  model, a, b, bias = _relu_linear_net()
  source = fia_tf.SourceModel(model, fia_tf.preprocessing.inception, 'lin',
                              name='relu_linear')
  attack = fia_tf.Attack(source, fia_tf.AttackConfig(
      method='BFA', ens=ens, options={'bfa_eta': eta}))
  rs = np.random.RandomState(0)
  pixels = rs.uniform(0, 255, (3, SIZE, SIZE, CH)).astype(np.float32)
  labels = np.array([0, 2, 1], np.int32)
  ids = tf.range(3, dtype=tf.int64)
  chain = attack.objective.chain(tf.constant(pixels), labels, ids).numpy()
  (weights,) = attack.objective.prepare(tf.constant(pixels), labels, ids)
  for i in range(3):
    copies, expected = _numpy_bfa(pixels[i].astype(np.float64), labels[i],
                                  a, b, bias, ens, eta)
    np.testing.assert_allclose(chain[:, i], copies, rtol=1e-4, atol=1e-2)
    np.testing.assert_allclose(weights.numpy()[i], expected, rtol=1e-4,
                               atol=1e-6)
  # The relu makes the copies matter: they change which features are on.
  on_copy = (chain[-1] / 127.5 - 1) @ a > 0
  on_clean = (pixels / 127.5 - 1) @ a > 0
  assert (on_copy != on_clean).any()


def test_each_copy_is_one_unit_step_from_the_clean_image(tiny_source, images,
                                                         labels):
  eta = 2.0
  attack = fia_tf.Attack(tiny_source, fia_tf.AttackConfig(
      method='BFA', ens=3, options={'bfa_eta': eta}))
  ids = tf.range(6, dtype=tf.int64)
  chain = attack.objective.chain(tf.constant(images), labels, ids).numpy()
  steps = chain - images[None]
  norms = np.sqrt((steps**2).sum(axis=(2, 3, 4)))
  np.testing.assert_allclose(norms, 255 * eta, rtol=1e-5)
  # Copy k steps along the CE gradient (model input) at copy k - 1.
  starts = [images, chain[0], chain[1]]
  for k in range(3):
    m = tf.constant(tiny_source.preprocess(starts[k]))
    with tf.GradientTape() as tape:
      tape.watch(m)
      loss = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(
          labels, tiny_source.model(m)))
    d = tape.gradient(loss, m).numpy()
    d /= np.sqrt((d**2).sum(axis=(1, 2, 3), keepdims=True))
    np.testing.assert_allclose(steps[k] / (255 * eta), d, rtol=1e-3,
                               atol=1e-5)
  # The chain moves: its copies are not all the same point.
  assert np.abs(chain[2] - chain[0]).max() > 1.0


def test_degenerate_settings_reduce_to_fia(tiny_source, images, labels):
  ids = tf.range(6, dtype=tf.int64)
  fia0 = fia_tf.Attack(tiny_source, fia_tf.AttackConfig(method='FIA', ens=0))
  expected = fia0.objective.prepare(tf.constant(images), labels, ids)[0]
  # ens = 0: the clean image's logit gradient alone, as FIA's.
  bfa0 = fia_tf.Attack(tiny_source, fia_tf.AttackConfig(method='BFA', ens=0))
  got = bfa0.objective.prepare(tf.constant(images), labels, ids)[0]
  np.testing.assert_array_equal(got.numpy(), expected.numpy())
  # eta = 0: N copies of the clean image, the same direction.
  still = fia_tf.Attack(tiny_source, fia_tf.AttackConfig(
      method='BFA', ens=4, options={'bfa_eta': 0.0}))
  got = still.objective.prepare(tf.constant(images), labels, ids)[0]
  np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-5,
                             atol=1e-7)
  # A real step changes the weights.
  moved = fia_tf.Attack(tiny_source, fia_tf.AttackConfig(
      method='BFA', ens=4, options={'bfa_eta': 3.0}))
  got = moved.objective.prepare(tf.constant(images), labels, ids)[0]
  assert np.abs(got.numpy() - expected.numpy()).max() > 1e-3
  assert moved.objective.copies_per_image() == 4


# The DI variants trace DI into the chain: ~35 s each on a shared 2-core CPU.
@pytest.mark.parametrize('method', [
    'BFA', pytest.param('BFAPIDIM', marks=pytest.mark.slow),
    pytest.param('BFA+TIDIM', marks=pytest.mark.slow)])
def test_deterministic_batch_independent_in_budget(tiny_source, images,
                                                   labels, method):
  config = fia_tf.AttackConfig(method=method, ens=3, num_iter=3,
                               options={'bfa_eta': 3.0})
  first = attack_checks.assert_budget_determinism_and_batch(
      fia_tf.Attack(tiny_source, config), images, labels, np.arange(6),
      moved=1, atol=1e-3)
  # A new attack of the same config: the same bytes.
  again = fia_tf.Attack(tiny_source, config)(images, labels,
                                             np.arange(6)).numpy()
  np.testing.assert_array_equal(first, again)


@pytest.mark.slow  # trains two models: ~20 s
def test_raises_black_box_error_of_a_trained_model():
  # eta scaled to the 32x32 images: 28 * 32 / 299 keeps the code's
  # per-pixel step size.
  transfer.assert_raises_wide_pair_error(fia_tf.AttackConfig(
      method='BFA', options={'bfa_eta': 3.0}))


@pytest.mark.parametrize('method', ['BFA', 'P2FA'])
def test_speed_record_has_the_chain_roofline(tiny_source, images, labels,
                                             method):
  from fia_tf.perf import roofline  # pylint: disable=import-outside-toplevel
  record = roofline.measure_attack(tiny_source, images, labels, method,
                                   ens=3, num_iter=2, repeats=1)
  assert record['variant'] == 'chain'
  layout = record['layout']
  # N + 1 passes of the whole batch; N aggregated copies per image.
  assert layout['passes'] == 4 and layout['images_per_pass'] == 6
  assert layout['copies'] == 18
  for key in ('full_pass_s', 'prefix_pass_s', 'input_pass_s',
              'forward_pass_s', 'roofline_s_per_image'):
    assert record[key] > 0, key
  assert record['ratio'] == pytest.approx(
      record['s_per_image'] / record['roofline_s_per_image'], rel=1e-9)
  pidim = fia_tf.Attack(tiny_source, fia_tf.AttackConfig(
      method=method + 'PIDIM', ens=2))
  with pytest.raises(ValueError, match='plain BFA or P2FA'):
    roofline.chain_roofline(pidim, images, labels, 1)
