"""The module names of fia_tf 0.1, kept importable after the re-layout.

0.2 moved the flat modules into layer packages (see the package docstring).
Importing an old name (``fia_tf.attack``, ``fia_tf.pipeline``, ...) gives a
module that forwards every attribute to its new home and warns once with a
``DeprecationWarning`` naming it. The table is the whole mapping.
"""

import importlib
import importlib.abc
import importlib.util
import sys
import types
import warnings

# old name -> new module(s); several are merged in that order.
ALIASES = {
    'fia_tf.attack': ('fia_tf.attacks.engine',),
    'fia_tf.config': ('fia_tf.attacks.config',),
    'fia_tf.layer': ('fia_tf.attacks.layer',),
    'fia_tf.methods': ('fia_tf.attacks.methods',),
    'fia_tf.objectives': ('fia_tf.attacks.objectives',),
    'fia_tf.rng': ('fia_tf.attacks.rng',),
    'fia_tf.source': ('fia_tf.attacks.source',),
    'fia_tf.transforms': ('fia_tf.attacks.input_transforms',
                          'fia_tf.attacks.gradient_transforms'),
    'fia_tf.updates': ('fia_tf.attacks.updates',),
    'fia_tf.io': ('fia_tf.data.files',),
    'fia_tf.extra_models': ('fia_tf.zoo.plugins', 'fia_tf.zoo.registry'),
    'fia_tf.tiny_zoo': ('fia_tf.zoo.tiny',),
    'fia_tf.benchmark_table': ('fia_tf.evaluation.tables',),
    'fia_tf.pipeline': ('fia_tf.runs.directory', 'fia_tf.progress',
                        'fia_tf.records'),
    'fia_tf.benchmark': ('fia_tf.runs.grid',),
    'fia_tf.roofline': ('fia_tf.perf.roofline',),
    'fia_tf.imagenet_demo': ('fia_tf.demos.imagenet',),
    'fia_tf.mini': ('fia_tf.demos.mini',),
    'fia_tf.mini.ablation': ('fia_tf.demos.mini.ablation',),
    'fia_tf.mini.data': ('fia_tf.data.fashion_mnist',),
    'fia_tf.mini.demo': ('fia_tf.demos.mini.demo',),
    'fia_tf.mini.models': ('fia_tf.demos.mini.models',),
    'fia_tf.mini.train': ('fia_tf.demos.mini.train',),
}


class _Forward(types.ModuleType):
  """A module whose attributes are those of its targets."""

  def __init__(self, name, targets):
    super().__init__(name, f'Deprecated alias of {", ".join(targets)}.')
    self.__fia_targets__ = targets
    # A package, so that ``import fia_tf.mini.demo`` reaches the finder.
    self.__path__ = []

  def __getattr__(self, attr):
    for target in self.__fia_targets__:
      module = importlib.import_module(target)
      if hasattr(module, attr):
        return getattr(module, attr)
      if hasattr(module, '__path__'):
        try:
          return importlib.import_module(f'{target}.{attr}')
        except ModuleNotFoundError:
          pass
    raise AttributeError(f'module {self.__name__!r} (an alias of '
                         f'{", ".join(self.__fia_targets__)}) has no '
                         f'attribute {attr!r}')

  def __dir__(self):
    names = set()
    for target in self.__fia_targets__:
      names.update(dir(importlib.import_module(target)))
    return sorted(names)


class _Loader(importlib.abc.Loader):

  def create_module(self, spec):
    targets = ALIASES[spec.name]
    warnings.warn(f'{spec.name} moved to {", ".join(targets)} in fia_tf 0.2; '
                  'import it from there', DeprecationWarning, stacklevel=3)
    return _Forward(spec.name, targets)

  def exec_module(self, module):
    del module


class _Finder(importlib.abc.MetaPathFinder):

  def find_spec(self, fullname, path=None, target=None):
    del path, target
    if fullname in ALIASES:
      return importlib.util.spec_from_loader(fullname, _Loader())
    return None


def install():
  """Puts the alias finder on ``sys.meta_path`` (once)."""
  if not any(isinstance(f, _Finder) for f in sys.meta_path):
    # First, so that an old name never finds a stale file of 0.1.
    sys.meta_path.insert(0, _Finder())
