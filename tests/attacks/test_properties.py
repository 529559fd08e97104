"""Properties every attack must have, for every method."""

import numpy as np
import pytest

import fia_tf
from tests.helpers import attack_checks

METHODS = ['MIM', 'DIM', 'TIM', 'PIM', 'TIDIM', 'NRDM', 'FDA', 'FIA', 'FIAPI',
           'FIAPIDIM', 'FIATIDIM']


def _attack(source, method, **kw):
  kw.setdefault('ens', 4)
  return fia_tf.Attack(source, fia_tf.AttackConfig(method=method, **kw))


@pytest.mark.parametrize('method', METHODS)
def test_budget_range_determinism_and_batch_invariance(tiny_source, images,
                                                       labels, method):
  attack = _attack(tiny_source, method, seed=11)
  attack_checks.assert_budget_determinism_and_batch(
      attack, images, labels, np.arange(6) * 7 + 3)
  # No retracing for a smaller batch.
  assert attack._compiled.experimental_get_tracing_count() == 1


@pytest.mark.parametrize('method', ['DIM', 'NRDM', 'FIA', 'FIAPIDIM'])
def test_seed_matters_for_random_parts(tiny_source, images, labels, method):
  a = _attack(tiny_source, method, seed=1)(images, labels, np.arange(6))
  b = _attack(tiny_source, method, seed=2)(images, labels, np.arange(6))
  assert np.abs(a.numpy() - b.numpy()).max() > 1


def test_content_ids_make_batching_irrelevant_by_default(tiny_source, images,
                                                         labels):
  attack = _attack(tiny_source, 'FIAPIDIM')
  full = attack(images, labels).numpy()
  np.testing.assert_array_equal(attack(images[3:], labels[3:]).numpy(),
                                full[3:])


@pytest.mark.parametrize('method', ['MIM', 'FIA', 'FDA'])
def test_eps_zero_returns_input(tiny_source, images, labels, method):
  adv = _attack(tiny_source, method, eps=0.0)(images, labels).numpy()
  np.testing.assert_array_equal(adv, images)


@pytest.mark.parametrize('method', ['TIDIM', 'NRDM', 'FIAPIDIM'])
def test_xla_on_equals_off(tiny_source, images, labels, method):
  ids = np.arange(6)
  off = _attack(tiny_source, method, jit_compile=False)(images, labels, ids)
  on = _attack(tiny_source, method, jit_compile=True)(images, labels, ids)
  diff = np.abs(on.numpy() - off.numpy())
  # Kernels may round differently; a rare sign flip moves a pixel one step.
  assert np.mean(diff < 1e-3) > 0.999 and diff.max() <= 2 * 16 + 1e-3


@pytest.mark.parametrize('method', ['MIM', 'NRDM', 'FDA', 'FIA', 'FIAPI'])
def test_objective_increases(tiny_source, images, labels, method):
  _, values = _attack(tiny_source, method, eps=32.0, alpha=3.2).run(
      images, labels)
  values = values.numpy()
  assert values.shape == (10, 6)
  assert np.all(values[-1] > values[0]), values[[0, -1]]


def test_clip_modes(tiny_source, images, labels):
  step = _attack(tiny_source, 'MIM', clip='step')(images, labels).numpy()
  final = _attack(tiny_source, 'MIM', clip='final')(images, labels).numpy()
  for adv in (step, final):
    assert adv.min() >= 0 and adv.max() <= 255
  # Pixels near the range edges are where the two modes can differ.
  assert not np.array_equal(step, final)
