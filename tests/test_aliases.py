"""The module names of fia_tf 0.1 still import, forward and warn."""

import importlib
import warnings

import pytest

import fia_tf

from fia_tf import _aliases


@pytest.mark.parametrize('old', sorted(_aliases.ALIASES))
def test_old_module_name_forwards_to_its_new_home(old):
  with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter('always')
    module = importlib.import_module(old)
  new = [importlib.import_module(n) for n in _aliases.ALIASES[old]]
  public = [name for m in new for name in dir(m) if not name.startswith('_')]
  for name in public[:20]:
    assert getattr(module, name) is next(getattr(m, name) for m in new
                                          if hasattr(m, name))
  with pytest.raises(AttributeError, match='alias'):
    getattr(module, 'no_such_name')


def test_old_names_used_in_0_1_examples():
  from fia_tf import benchmark, pipeline, tiny_zoo  # pylint: disable=g-import-not-at-top
  from fia_tf.attack import Attack  # pylint: disable=g-import-not-at-top
  assert Attack is fia_tf.Attack
  assert pipeline.attack_directory is fia_tf.runs.attack_directory
  assert benchmark.run is fia_tf.runs.grid.run
  assert {s.name for s in tiny_zoo.SPECS} == set(tiny_zoo.TINY_MODELS)


def test_old_package_names_reach_their_submodules():
  from fia_tf.mini import demo  # pylint: disable=g-import-not-at-top
  import fia_tf.mini.ablation  # pylint: disable=g-import-not-at-top
  from fia_tf.demos.mini import ablation  # pylint: disable=g-import-not-at-top
  assert demo.DemoConfig is importlib.import_module(
      'fia_tf.demos.mini.demo').DemoConfig
  assert fia_tf.mini.ablation.run_ablation is ablation.run_ablation


def test_importing_an_old_name_warns_with_the_new_one():
  import sys  # pylint: disable=g-import-not-at-top
  sys.modules.pop('fia_tf.methods', None)
  with pytest.warns(DeprecationWarning, match='fia_tf.attacks.methods'):
    importlib.import_module('fia_tf.methods')
