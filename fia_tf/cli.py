"""Shared behaviour of the command-line binaries in ``experiments/``.

:func:`guarded` turns the library's expected errors (bad flag values, unknown
models, missing checkpoints, unusable data) into a one-paragraph message on
stderr and a non-zero exit status instead of a traceback. Programming errors
still raise, so bugs stay visible.
"""

import functools
import sys

from absl import logging

from fia_tf import distribute
from fia_tf import extra_models
from fia_tf.zoo import checkpoint as checkpoint_lib
from fia_tf.zoo import registry

EXIT_USAGE = 2        # bad input: flags, config, data, unknown model
EXIT_CHECKPOINT = 3   # a checkpoint is missing or does not fit its model
EXIT_INTERRUPTED = 130


def error_message(error):
  """The user-facing text of an expected error (KeyError without quotes)."""
  if isinstance(error, KeyError) and error.args:
    return str(error.args[0])
  return str(error)


def guarded(main):
  """Wraps an ``absl.app`` main so expected errors exit with a message.

  Args:
    main: ``main(argv)``.

  Returns:
    The wrapped function, for ``app.run``.
  """
  @functools.wraps(main)
  def wrapper(argv):
    try:
      return main(argv)
    except (registry.CheckpointNotFoundError,
            checkpoint_lib.CheckpointError) as e:
      _fail(e, EXIT_CHECKPOINT)
    except (ValueError, KeyError, FileNotFoundError, NotADirectoryError,
            PermissionError) as e:
      _fail(e, EXIT_USAGE)
    except KeyboardInterrupt:
      sys.stderr.write('interrupted; run the same command again to resume\n')
      sys.exit(EXIT_INTERRUPTED)
  return wrapper


def _fail(error, status):
  message = error_message(error)
  logging.debug('error details', exc_info=True)
  sys.stderr.write(f'error: {message}\n')
  sys.stderr.flush()
  sys.exit(status)


def load_model_modules(refs):
  """Imports ``--model_module`` values plus ``$FIA_TF_MODEL_MODULES``."""
  return extra_models.import_model_modules(
      list(refs or []) + extra_models.modules_from_env())


def xla_setting(value):
  """``'auto'``/``'on'``/``'off'`` -> ``None``/``True``/``False``."""
  return {'auto': None, 'on': True, 'off': False}[value]


STRATEGY_HELP = (
    'Where the work runs: default (one device), mirrored (all GPUs of this '
    'host, or the logical CPUs of --cpu_devices), multi_worker (all hosts of '
    '$TF_CONFIG; outputs on a shared file system). Results are byte-identical '
    'to one device.')
CPU_DEVICES_HELP = ('Split the CPU into this many logical devices (0: no '
                    'split); with --strategy=mirrored, one replica each.')


def strategy(kind, cpu_devices=0):
  """The strategy of the ``--strategy`` / ``--cpu_devices`` flag values.

  Returns ``None`` for ``'default'`` (the engine then runs unsharded).
  """
  if cpu_devices:
    distribute.split_cpu(cpu_devices)
  if kind == 'default':
    return None
  return distribute.make_strategy(kind)


def memory_budget(mib):
  """``--memory_budget_mib`` -> bytes (``None``: the device's default)."""
  if mib is None:
    return None
  if mib <= 0:
    raise ValueError(f'memory_budget_mib must be > 0, got {mib}')
  return int(mib * 2**20)
