"""Exit statuses and messages of the binaries in ``experiments/``.

:func:`guarded` turns the library's expected errors (bad flag values, unknown
models, missing checkpoints, unusable data) into a one-paragraph message on
stderr and a non-zero exit status instead of a traceback; :func:`run` also
makes a flag that cannot be parsed exit with :data:`EXIT_USAGE`. Programming
errors still raise, so bugs stay visible.

Exit statuses: 0 done (the run is complete), 1 the run failed (a model gave
NaN/inf, the disk is full, another run holds the output directory; nothing
is marked complete), 2 bad input or usage (flags, config, data, unknown
model, output directory overlapping an input), 3 checkpoint problem, 130
interrupted (run the same command again to resume).
"""

import contextlib
import functools
import os
import sys

from absl import app
from absl import flags
from absl import logging

from fia_tf.attacks import checks
from fia_tf.data import files
from fia_tf.runs import guards
from fia_tf.zoo import checkpoint as checkpoint_lib
from fia_tf.zoo import registry

EXIT_FAILURE = 1      # the run failed: NaN/inf, full disk, output dir locked
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
    except guards.RunError as e:
      _fail(e, EXIT_FAILURE)
    except OSError as e:
      if files.is_disk_full(e):
        # Also a full disk outside our own writers (then e names the file).
        _fail(e if isinstance(e, files.DiskFullError) else
              files.disk_full_message(_directory_of(e), e), EXIT_FAILURE)
      if isinstance(e, (FileNotFoundError, NotADirectoryError,
                        FileExistsError, IsADirectoryError, PermissionError)):
        _fail(e, EXIT_USAGE)
      raise
    except (ValueError, KeyError, flags.Error) as e:
      _fail(e, EXIT_USAGE)
    except KeyboardInterrupt:
      sys.stderr.write('interrupted; run the same command again to resume\n')
      sys.exit(EXIT_INTERRUPTED)
  return wrapper


def _directory_of(error):
  return os.path.dirname(error.filename) if error.filename else (
      'the output directory')


@contextlib.contextmanager
def flag_names(flag_of):
  """Re-raises a setting's error with the flag the user typed.

  Args:
    flag_of: ``{setting name: flag name}``, e.g. ``{'eps': 'max_epsilon'}``.

  Raises:
    ValueError: ``--max_epsilon must be >= 0.0, got -1.0`` for a
      :class:`fia_tf.attacks.checks.SettingError` of a mapped setting.
  """
  try:
    yield
  except checks.SettingError as e:
    if e.name not in flag_of:
      raise
    raise ValueError(f'--{flag_of[e.name]} {e.detail}') from None


def _fail(error, status):
  message = error_message(error)
  logging.debug('error details', exc_info=True)
  sys.stderr.write(f'error: {message}\n')
  sys.stderr.flush()
  sys.exit(status)


def _parse_flags(argv):
  """absl's flag parsing, exiting with :data:`EXIT_USAGE` (absl exits 1)."""
  try:
    return flags.FLAGS(argv)
  except flags.Error as e:
    sys.stderr.write(f'error: {e}\nPass --helpshort or --helpfull to see '
                     'help on flags.\n')
    sys.exit(EXIT_USAGE)


def run(main):
  """``absl.app.run`` of ``guarded(main)`` with the exit statuses above."""
  app.run(guarded(main), flags_parser=_parse_flags)
