"""P2FA on tiny models: its target and value against NumPy, its properties,
parsing, determinism and a black-box check on models trained here."""

import numpy as np
import pytest
import tensorflow as tf

import fia_tf
from fia_tf.attacks import parts
from tests.helpers import attack_checks
from tests.helpers import transfer


@pytest.mark.parametrize('method,modifiers', [
    ('P2FA', {}), ('P2FA+PIDIM', {'update': 'pi', 'input_transform': 'di'}),
    ('P2FAPIDIM', {'update': 'pi', 'input_transform': 'di'}),
    ('p2fa-ti-di', {'gradient_transform': 'ti', 'input_transform': 'di'}),
    ('P2FAM', {})])
def test_methods_parse(method, modifiers):
  got = fia_tf.parse_method(method)
  assert got.objective == 'p2fa'
  for kind in ('input_transform', 'gradient_transform', 'update'):
    default = parts.TABLES[kind].default
    assert getattr(got, kind) == modifiers.get(kind, default)
  assert fia_tf.parse_method(got.name) == got


@pytest.mark.parametrize('method', ['P2FAA', 'P2F', 'P3FA', 'P2FABFA',
                                    'BFAP2FA', 'P2FADIDI'])
def test_bad_methods_state_the_grammar(method):
  with pytest.raises(ValueError, match='A method is an optional objective'):
    fia_tf.parse_method(method)


def test_options():
  config = fia_tf.AttackConfig(method='P2FA')
  assert config.option('p2fa_eta') == 28.0
  assert config.option('p2fa_scale') == 1e5
  config = fia_tf.AttackConfig(method='P2FAPIDIM',
                               options={'p2fa_eta': 3.0, 'p2fa_scale': 10.0})
  assert (config.option('p2fa_eta'), config.option('p2fa_scale')) == (3.0,
                                                                       10.0)
  assert fia_tf.AttackConfig.from_dict(config.to_dict()) == config
  with pytest.raises(ValueError, match='p2fa_scale must be > 0.0'):
    fia_tf.AttackConfig(method='P2FA', options={'p2fa_scale': 0.0})
  with pytest.raises(ValueError, match='p2fa_eta must be >= 0.0'):
    fia_tf.AttackConfig(method='P2FA', options={'p2fa_eta': -2.0})
  # BFA's option belongs to BFA: each part has its own.
  with pytest.raises(ValueError, match=r"no option\(s\) \['bfa_eta'\]"):
    fia_tf.AttackConfig(method='P2FA', options={'bfa_eta': 3.0})
  with pytest.raises(ValueError, match='p2fa_inner must be >= 1'):
    fia_tf.AttackConfig(method='P2FA', options={'p2fa_inner': 0})
  assert config.option('p2fa_inner') == 10
  assert [o.name for o in parts.OBJECTIVES['p2fa'].options] == [
      'p2fa_eta', 'p2fa_scale', 'p2fa_inner']


def _attacks(source, **kw):
  scale = kw.pop('scale', 1e5)
  p2fa = fia_tf.Attack(source, fia_tf.AttackConfig(
      method='P2FA', ens=3, options={'p2fa_eta': 3.0, 'p2fa_scale': scale},
      **kw))
  bfa = fia_tf.Attack(source, fia_tf.AttackConfig(
      method='BFA', ens=3, options={'bfa_eta': 3.0}, **kw))
  return p2fa, bfa


def test_target_and_value_match_numpy(tiny_source, images, labels):
  p2fa, bfa = _attacks(tiny_source, scale=1e3)
  ids = tf.range(6, dtype=tf.int64)
  _, momentum, target = p2fa.objective.prepare(tf.constant(images), labels,
                                               ids)
  (weights,) = bfa.objective.prepare(tf.constant(images), labels, ids)
  np.testing.assert_allclose(momentum.numpy(), weights.numpy(), atol=1e-6)
  # The anchor through the plain feature model, on NumPy-preprocessed input.
  anchor = p2fa.feature_model(images / 127.5 - 1.0).numpy()
  expected = anchor + 1e3 * weights.numpy()
  np.testing.assert_allclose(target.numpy(), expected, rtol=1e-5, atol=1e-4)
  out = p2fa.feature_model(images[::-1] / 127.5 - 1.0).numpy()
  value = p2fa.objective(tf.constant(out), (labels, momentum, target),
                         None).numpy()
  np.testing.assert_allclose(
      value, -((out - expected)**2).sum(axis=(1, 2, 3)), rtol=1e-5)


def test_first_gradient_is_bfa_direction_scaled(tiny_source, images, labels):
  """At the anchor, d -||f - f*||^2 = 2 c W: BFA's gradient, 2 c size times."""
  p2fa, bfa = _attacks(tiny_source)
  ids = np.arange(6)
  got = p2fa.input_gradient(images, labels, ids).numpy()
  ref = bfa.input_gradient(images, labels, ids).numpy()
  size = np.prod(p2fa.feature_model.outputs[0].shape[1:])
  np.testing.assert_allclose(got, 2 * 1e5 * size * ref, rtol=1e-3,
                             atol=1e-3 * np.abs(got).max())


def test_iterations_approach_the_feature_target(tiny_source, images, labels):
  p2fa, _ = _attacks(tiny_source, num_iter=5)
  _, values = p2fa.run(images, labels, np.arange(6))
  values = values.numpy()           # [num_iter, B], -distance^2
  assert (values[-1] > values[0]).all(), values


def _unit(g):
  return g / np.sqrt((g**2).sum(axis=(1, 2, 3), keepdims=True))


@pytest.mark.parametrize('momentum', [1.0, 0.5])
def test_outer_iterations_reanchor_at_the_iterate(tiny_source, images, labels,
                                                  momentum):
  """At t = K, 2K, ..: g = mu g + w(adv_t), f* = f(adv_t) + c g / ||g||;
  the state is untouched in between, for Python-int and tensor t alike."""
  scale, inner = 1e3, 2
  _, bfa = _attacks(tiny_source)
  p2fa = fia_tf.Attack(tiny_source, fia_tf.AttackConfig(
      method='P2FA', ens=3, momentum=momentum, num_iter=inner,
      options={'p2fa_eta': 3.0, 'p2fa_scale': scale, 'p2fa_inner': inner}))
  ids = tf.range(6, dtype=tf.int64)
  x = tf.constant(images)
  adv = p2fa(images, labels, ids)             # the iterate at t = K
  assert np.abs(adv.numpy() - images).max() > 1.0
  state = p2fa.objective.prepare(x, labels, ids)
  weights = [bfa.objective.prepare(z, labels, ids)[0].numpy()
             for z in (x, adv)]
  expected_g = momentum * weights[0] + weights[1]
  expected_target = (p2fa.feature_model(adv.numpy() / 127.5 - 1.0).numpy() +
                     scale * _unit(expected_g))
  for to_t in (int, lambda t: tf.constant(t, tf.int32)):
    for t in (0, 1, 3, 5):
      kept = p2fa.objective.advance(state, adv, ids, to_t(t))
      for got, want in zip(kept, state):
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    for t in (2, 4):
      _, g, target = p2fa.objective.advance(state, adv, ids, to_t(t))
      np.testing.assert_allclose(g.numpy(), expected_g, atol=1e-5)
      np.testing.assert_allclose(target.numpy(), expected_target, rtol=1e-5,
                                 atol=1e-3)


@pytest.mark.parametrize('jit_compile', [False, True])
def test_the_loop_reanchors_every_k_iterations(tiny_source, images, labels,
                                               jit_compile):
  """Right after an anchoring ||f(adv) - f*|| = c exactly (f* = f(adv) + c *
  unit vector); in between the iterate approaches f*, so the value rises."""
  scale, inner = 1e3, 3
  p2fa = fia_tf.Attack(tiny_source, fia_tf.AttackConfig(
      method='P2FA', ens=3, num_iter=3 * inner, jit_compile=jit_compile,
      options={'p2fa_eta': 3.0, 'p2fa_scale': scale, 'p2fa_inner': inner}))
  _, values = p2fa.run(images, labels, np.arange(6))
  distance = -values.numpy()                  # [num_iter, B], ||f - f*||^2
  for t in range(3 * inner):
    if t % inner == 0:
      np.testing.assert_allclose(distance[t], scale**2, rtol=1e-4)
    else:
      assert (distance[t] < distance[t - 1]).all(), (t, distance)
  assert (distance[inner - 1] < scale**2 * (1 - 1e-4)).all()


# The DI variants trace DI into the chain: ~35 s each on a shared 2-core CPU.
@pytest.mark.parametrize('method', [
    'P2FA', pytest.param('P2FAPIDIM', marks=pytest.mark.slow),
    pytest.param('P2FA+TIDIM', marks=pytest.mark.slow)])
def test_deterministic_batch_independent_in_budget(tiny_source, images,
                                                   labels, method):
  config = fia_tf.AttackConfig(method=method, ens=3, num_iter=3,
                               options={'p2fa_eta': 3.0})
  first = attack_checks.assert_budget_determinism_and_batch(
      fia_tf.Attack(tiny_source, config), images, labels, np.arange(6),
      moved=1, atol=1e-3)
  # A new attack of the same config: the same bytes.
  again = fia_tf.Attack(tiny_source, config)(images, labels,
                                             np.arange(6)).numpy()
  np.testing.assert_array_equal(first, again)


@pytest.mark.slow  # trains two models: ~20 s
def test_raises_black_box_error_of_a_trained_model():
  transfer.assert_raises_wide_pair_error(fia_tf.AttackConfig(
      method='P2FA', options={'p2fa_eta': 3.0}))
