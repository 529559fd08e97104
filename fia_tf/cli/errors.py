"""Exit statuses and messages of the binaries in ``experiments/``.

:func:`guarded` turns the library's expected errors (bad flag values, unknown
models, missing checkpoints, unusable data) into a one-paragraph message on
stderr and a non-zero exit status instead of a traceback; :func:`run` also
makes a flag that cannot be parsed exit with :data:`EXIT_USAGE`. Programming
errors still raise, so bugs stay visible.

Exit statuses: 0 done, 2 bad input (flags, config, data, unknown model),
3 checkpoint problem, 130 interrupted (run the same command again to
resume).
"""

import functools
import sys

from absl import app
from absl import flags
from absl import logging

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
