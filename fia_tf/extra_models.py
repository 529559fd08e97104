"""Models beyond the slim zoo: a plugin hook and the tiny test zoo.

The binaries take ``--model_module`` (or ``$FIA_TF_MODEL_MODULES``, comma
separated): dotted module names or ``.py`` paths imported before any model
is looked up. Such a module registers :class:`fia_tf.zoo.ModelSpec` entries
with :func:`register`, after which ``--model_name`` and ``--models`` accept
them like zoo names.

:mod:`fia_tf.tiny_zoo` is such a module: ``--model_module=fia_tf.tiny_zoo``
makes its small random-weight nets available, for tests and dry runs.
"""

import importlib
import importlib.util
import os
import pathlib
import sys

from fia_tf.zoo import registry

MODULES_ENV = 'FIA_TF_MODEL_MODULES'


def register(spec, replace=False):
  """Adds ``spec`` to the model registry.

  Raises:
    ValueError: when a different spec already has that name (and not
      ``replace``).
  """
  existing = registry.REGISTRY.get(spec.name)
  if existing is not None and existing != spec and not replace:
    raise ValueError(f'a different model is already registered as '
                     f'{spec.name!r}')
  registry.REGISTRY[spec.name] = spec
  return spec


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
    if not ref:
      continue
    try:
      if ref.endswith('.py') or os.sep in ref:
        path = pathlib.Path(ref).resolve()
        if not path.is_file():
          raise ValueError(f'model module file {ref!r} does not exist')
        name = path.stem
        if name in sys.modules and getattr(sys.modules[name], '__file__',
                                           None) == str(path):
          modules.append(sys.modules[name])
          continue
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        # Registered before running so that ``builder='name:fn'`` strings of
        # its specs import this very module.
        sys.modules[name] = module
        spec.loader.exec_module(module)
      else:
        module = importlib.import_module(ref)
    except ValueError:
      raise
    except Exception as e:  # pylint: disable=broad-except
      raise ValueError(f'cannot import model module {ref!r}: '
                       f'{type(e).__name__}: {e}') from None
    modules.append(module)
  return modules


def modules_from_env():
  """The module references in ``$FIA_TF_MODEL_MODULES``."""
  return [m for m in os.environ.get(MODULES_ENV, '').split(',') if m.strip()]
