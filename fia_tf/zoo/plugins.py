"""Models beyond the zoo's own: plugin modules that register model specs.

The binaries take ``--model_module`` (or ``$FIA_TF_MODEL_MODULES``, comma
separated): dotted module names or ``.py`` paths imported before any model
is looked up. A plugin module either defines ``SPECS``, a sequence of
:class:`fia_tf.zoo.ModelSpec` that :func:`import_model_modules` registers,
or registers its specs itself with :func:`fia_tf.zoo.registry.register`
when imported; either way ``--model_name`` and ``--models`` then accept them
like zoo names.

:mod:`fia_tf.zoo.tiny` is such a module: ``--model_module=fia_tf.zoo.tiny``
makes its small random-weight nets available, for tests and dry runs.
"""

import importlib
import importlib.util
import os
import pathlib
import sys

from fia_tf.zoo import registry

MODULES_ENV = 'FIA_TF_MODEL_MODULES'


register = registry.register


def import_model_modules(refs):
  """Imports plugin modules that register models.

  Args:
    refs: iterable of dotted module names or paths to ``.py`` files (empty
      strings are ignored).

  Returns:
    The imported modules.

  Raises:
    ValueError: naming a module that cannot be found or fails to import.
  """
  modules = []
  for ref in refs:
    ref = ref.strip()
    if ref:
      module = _load(ref)
      for spec in getattr(module, 'SPECS', ()):
        registry.register(spec)
      modules.append(module)
  return modules


def _load(ref):
  """Imports one plugin by dotted name or file path."""
  try:
    if not (ref.endswith('.py') or os.sep in ref):
      return importlib.import_module(ref)
    path = pathlib.Path(ref).resolve()
    if not path.is_file():
      raise ValueError(f'model module file {ref!r} does not exist')
    name = path.stem
    if name in sys.modules and getattr(sys.modules[name], '__file__',
                                       None) == str(path):
      return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    # Registered before running so that ``builder='name:fn'`` strings of
    # its specs import this very module.
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
  except ValueError:
    raise
  except Exception as e:  # pylint: disable=broad-except
    raise ValueError(f'cannot import model module {ref!r}: '
                     f'{type(e).__name__}: {e}') from None


def modules_from_env():
  """The module references in ``$FIA_TF_MODEL_MODULES``."""
  return [m for m in os.environ.get(MODULES_ENV, '').split(',') if m.strip()]
