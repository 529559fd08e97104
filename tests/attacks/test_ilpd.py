"""ILPD: the decayed forward pass against a NumPy restatement, its
properties, the suffix model, method strings and options, and a black-box
check."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import fia_tf
from fia_tf.attacks import parts
from fia_tf.attacks import source as source_lib
from tests.helpers import attack_checks
from tests.helpers import linear
from tests.helpers import transfer


@pytest.mark.parametrize('method,modifiers', [
    ('ILPD', {}),
    ('ILPD+PIDIM', {'update': 'pi', 'input_transform': 'di'}),
    ('ILPDPIDIM', {'update': 'pi', 'input_transform': 'di'}),
    ('ilpd-ti', {'gradient_transform': 'ti'}),
    ('ILPD_TIDI', {'gradient_transform': 'ti', 'input_transform': 'di'})])
def test_methods_parse(method, modifiers):
  got = fia_tf.parse_method(method)
  assert got.objective == 'ilpd'
  for kind in ('input_transform', 'gradient_transform', 'update'):
    assert getattr(got, kind) == modifiers.get(kind,
                                               parts.TABLES[kind].default)
  assert fia_tf.parse_method(got.name) == got


@pytest.mark.parametrize('method', ['ILPDX', 'ILP', 'ILPDILPD', 'ILPDPIPI'])
def test_bad_methods_state_the_grammar(method):
  with pytest.raises(ValueError, match='A method is an optional objective'):
    fia_tf.parse_method(method)


def test_options_defaults_values_and_errors():
  config = fia_tf.AttackConfig(method='ILPD')
  assert config.option('ilpd_gamma') == 0.1
  assert config.option('ilpd_sigma') == 12.75
  assert config.option('ilpd_copies') == 1
  config = fia_tf.AttackConfig(method='ILPDDI', options={'ilpd_gamma': 0.5})
  assert config.option('ilpd_gamma') == 0.5
  assert fia_tf.AttackConfig.from_dict(config.to_dict()) == config
  with pytest.raises(ValueError, match='ilpd_gamma must be <= 1.0'):
    fia_tf.AttackConfig(method='ILPD', options={'ilpd_gamma': 1.5})
  with pytest.raises(ValueError, match='ilpd_copies must be >= 1'):
    fia_tf.AttackConfig(method='ILPD', options={'ilpd_copies': 0})
  with pytest.raises(ValueError, match=r"no option\(s\) \['ilpd_sigma'\]"):
    fia_tf.AttackConfig(method='MIM', options={'ilpd_sigma': 1.0})


def _residual_model():
  inputs = keras.Input((8, 8, 3))
  x = keras.layers.Conv2D(4, 3, padding='same', name='stem')(inputs)
  y = keras.layers.Conv2D(4, 3, padding='same', name='inner')(x)
  x = keras.layers.Activation('relu', name='block_out')(
      keras.layers.Add(name='add')([x, y]))
  x = keras.layers.GlobalAveragePooling2D()(x)
  return keras.Model(inputs, keras.layers.Dense(5)(x))


def test_suffix_after_a_block_and_clear_error_inside_one():
  model = _residual_model()
  source = fia_tf.SourceModel(model, feature_layer='block_out')
  suffix = source_lib.suffix_model(source)
  prefix, _ = source_lib.feature_models(source)
  x = np.random.RandomState(0).normal(size=(2, 8, 8, 3)).astype(np.float32)
  np.testing.assert_allclose(suffix(prefix(x)).numpy(), model(x).numpy(),
                             rtol=1e-5, atol=1e-6)
  with pytest.raises(ValueError, match="after layer 'inner' also reads"):
    source_lib.suffix_model(source, 'inner')
  inside = fia_tf.SourceModel(model, feature_layer='inner')
  with pytest.raises(ValueError, match='skip connection'):
    fia_tf.Attack(inside, fia_tf.AttackConfig(method='ILPD'))


@pytest.mark.parametrize('gamma', [0.1, 0.6])
def test_decayed_value_matches_numpy(gamma):
  """sigma = 0: CE of the logits of gamma*h(x_adv) + (1-gamma)*h(x)."""
  source, w = linear.source(), linear.weights()
  x, labels = linear.images(3), np.array([1, 2, 4], np.int32)
  attack = fia_tf.Attack(source, fia_tf.AttackConfig(
      method='ILPD', options={'ilpd_gamma': gamma, 'ilpd_sigma': 0.0}))
  state = attack.objective.prepare(tf.constant(x), labels,
                                   tf.range(3, dtype=tf.int64))
  adv = np.clip(x + np.random.RandomState(2).uniform(-16, 16, x.shape), 0,
                255)
  out = linear.features(w, adv)
  mixed = gamma * out + (1 - gamma) * linear.features(w, x)
  expected = linear.cross_entropy(w, mixed, labels)
  got = attack.objective(tf.constant(out, tf.float32), state, None).numpy()
  np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
  # Not the plain cross-entropy of the adversarial image.
  assert np.abs(linear.cross_entropy(w, out, labels) - expected).max() > 1e-3


def test_noise_is_fresh_each_iteration_and_keyed_by_it():
  """sigma > 0: iteration t mixes in h(x + sigma*n_t), n_t keyed by (t, id);
  the index comes from advance(), so repeating an iteration repeats it."""
  source, w = linear.source(), linear.weights()
  x, labels = linear.images(2), np.array([0, 3], np.int32)
  ids = tf.constant([11, 12], tf.int64)
  gamma, sigma = 0.3, 20.0
  attack = fia_tf.Attack(source, fia_tf.AttackConfig(
      method='ILPD', options={'ilpd_gamma': gamma, 'ilpd_sigma': sigma}))
  objective = attack.objective
  out = linear.features(w, x[::-1])
  noises = [objective.clean_noise(tf.fill([2], t), ids).numpy()
            for t in range(2)]
  assert abs(np.std(noises) - sigma) < 2 and abs(np.mean(noises)) < 2
  expected = [linear.cross_entropy(
      w, gamma * out + (1 - gamma) * linear.features(w, x + n), labels)
              for n in noises]
  assert np.abs(expected[0] - expected[1]).max() > 1e-3
  state = objective.prepare(tf.constant(x), labels, ids)
  for t in (0, 1, 1, 0):
    # As the engine calls it: a Python int (XLA) or an int32 tensor.
    for index in (t, tf.constant(t, tf.int32)):
      now = objective.advance(state, tf.constant(x), ids, index)
      got = objective(tf.constant(out, tf.float32), now, None).numpy()
      np.testing.assert_allclose(got, expected[t], rtol=1e-5, atol=1e-6)


def test_gamma_one_is_the_cross_entropy_attack(tiny_source, images, labels):
  ids = np.arange(6)
  ilpd = fia_tf.Attack(tiny_source, fia_tf.AttackConfig(
      method='ILPD', options={'ilpd_gamma': 1.0}))
  ce = fia_tf.Attack(tiny_source, fia_tf.AttackConfig(method='MIM',
                                                      ce_labels='true'))
  got = ilpd.input_gradient(images, labels, ids).numpy()
  want = ce.input_gradient(images, labels, ids).numpy()
  assert np.abs(want).max() > 0
  np.testing.assert_allclose(got, want, rtol=1e-4,
                             atol=1e-5 * np.abs(want).max())


def test_gamma_zero_has_no_gradient(tiny_source, images, labels):
  """All of h' is the clean image's: nothing depends on the iterate."""
  ilpd = fia_tf.Attack(tiny_source, fia_tf.AttackConfig(
      method='ILPD', options={'ilpd_gamma': 0.0}))
  grad = ilpd.input_gradient(images, labels, np.arange(6)).numpy()
  np.testing.assert_array_equal(grad, np.zeros_like(grad))


def test_copies_average_their_passes(tiny_source, images, labels):
  """ilpd_copies = 2 is the mean of the values of draws 2t and 2t+1."""
  ids = tf.range(6, dtype=tf.int64)
  attack = fia_tf.Attack(tiny_source, fia_tf.AttackConfig(
      method='ILPD', options={'ilpd_copies': 2}))
  objective = attack.objective
  out = attack.feature_model(tiny_source.preprocess(images[::-1].copy()))
  state = objective.prepare(tf.constant(images), labels, ids)
  got = objective(out, state, None).numpy()
  values = []
  for counter in (0, 1):
    pixels = images + objective.clean_noise(tf.fill([6], counter), ids)
    ref = attack.feature_model(tiny_source.preprocess(pixels))
    logits = attack.network.logits_of_features(0.1 * out + 0.9 * ref)
    values.append(tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels, logits).numpy())
  np.testing.assert_allclose(got, np.mean(values, axis=0), rtol=1e-5)


def test_with_di_the_clean_features_take_the_iterations_draw(
    tiny_source, images, labels):
  """At the start point x_adv = x, so with sigma = 0 the decayed map is
  h(DI(x)) whatever gamma, if and only if both maps share the DI draw:
  the first value is then DIM's cross-entropy on the true labels."""
  ids = np.arange(6)
  ilpd = fia_tf.Attack(tiny_source, fia_tf.AttackConfig(
      method='ILPDDI', options={'ilpd_sigma': 0.0, 'ilpd_gamma': 0.1}))
  dim = fia_tf.Attack(tiny_source, fia_tf.AttackConfig(method='DIM',
                                                       ce_labels='true'))
  plain = fia_tf.Attack(tiny_source, fia_tf.AttackConfig(
      method='MIM', ce_labels='true'))
  got = ilpd.run(images, labels, ids)[1].numpy()[0]
  want = dim.run(images, labels, ids)[1].numpy()[0]
  np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
  # DI changed the value of some images, so the check is not vacuous.
  undiversified = plain.run(images, labels, ids)[1].numpy()[0]
  assert np.abs(want - undiversified).max() > 1e-3


@pytest.mark.parametrize('method', ['ILPD', 'ILPD+PIDIM'])
def test_budget_determinism_and_batch_independence(tiny_source, images,
                                                   labels, method):
  attack = fia_tf.Attack(tiny_source, fia_tf.AttackConfig(method=method,
                                                          seed=3))
  ids = np.arange(6) * 7 + 3
  adv = attack_checks.assert_budget_determinism_and_batch(
      attack, images, labels, ids)
  other = fia_tf.Attack(tiny_source, fia_tf.AttackConfig(
      method=method, seed=4))(images, labels, ids).numpy()
  assert np.abs(other - adv).max() > 1


def test_xla_on_equals_off(tiny_source, images, labels):
  ids = np.arange(6)
  off = fia_tf.Attack(tiny_source, fia_tf.AttackConfig(
      method='ILPD', jit_compile=False))(images, labels, ids).numpy()
  on = fia_tf.Attack(tiny_source, fia_tf.AttackConfig(
      method='ILPD', jit_compile=True))(images, labels, ids).numpy()
  diff = np.abs(on - off)
  # Kernels may round differently; a rare sign flip moves a pixel one step.
  assert np.mean(diff < 1e-3) > 0.999 and diff.max() <= 2 * 16 + 1e-3


@pytest.mark.slow
def test_raises_the_black_box_error_of_another_model():
  source, target = transfer.source_and_target()
  x, y = transfer.stripes(64, 1)
  assert transfer.error(source.model, x, y) <= 0.1, 'source did not train'
  clean = transfer.error(target, x, y)
  assert clean <= 0.2, f'target did not train: {clean}'
  adv = fia_tf.Attack(source, fia_tf.AttackConfig(method='ILPD'))(x, y)
  attacked = transfer.error(target, adv.numpy(), y)
  # 64 images: 4 standard errors of a binomial at the clean error and at
  # least 5 images, so the rise is not a fluctuation of a few images.
  margin = max(4 * np.sqrt(clean * (1 - clean) / 64), 5 / 64)
  assert attacked > clean + margin, (clean, attacked)


@pytest.mark.slow
@pytest.mark.parametrize('name,inside', [
    ('resnet_v1_50', 'resnet_v1_50/block2/unit_4/bottleneck_v1/conv2/Relu'),
    ('inception_v3', 'InceptionV3/InceptionV3/Mixed_5b/Branch_1/'
                     'Conv2d_0b_5x5/Relu')])
def test_zoo_suffix_at_the_default_layer(name, inside):
  """The zoo's default layers have a suffix; a layer inside a block has
  none and says so (random weights: only the graph matters)."""
  from fia_tf.zoo import registry  # pylint: disable=import-outside-toplevel
  source = registry.get_spec(name).source_model(load_weights=False)
  suffix = source_lib.suffix_model(source)
  prefix, _ = source_lib.feature_models(source)
  height, width = source.input_size
  x = source.preprocess(np.random.RandomState(0).uniform(
      0, 255, (1, height, width, 3)).astype(np.float32))
  want = source.model(x).numpy()
  np.testing.assert_allclose(suffix(prefix(x)).numpy(), want, rtol=1e-4,
                             atol=1e-4 * np.abs(want).max())
  with pytest.raises(ValueError, match='skip connection|also reads'):
    source_lib.suffix_model(source, inside)
