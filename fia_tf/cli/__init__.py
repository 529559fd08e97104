"""Shared code of the thin binaries in ``experiments/`` (flags -> config ->
library call): :mod:`.flags` (the flags every binary spells the same way)
and :mod:`.errors` (exit statuses, messages instead of tracebacks)."""

from fia_tf.cli import errors
from fia_tf.cli import flags
from fia_tf.cli.errors import EXIT_CHECKPOINT
from fia_tf.cli.errors import EXIT_FAILURE
from fia_tf.cli.errors import EXIT_INTERRUPTED
from fia_tf.cli.errors import EXIT_USAGE
from fia_tf.cli.errors import error_message
from fia_tf.cli.errors import flag_names
from fia_tf.cli.errors import guarded
from fia_tf.cli.errors import run
from fia_tf.cli.flags import load_model_modules
from fia_tf.cli.flags import memory_budget
from fia_tf.cli.flags import strategy
from fia_tf.cli.flags import xla_setting

__all__ = ['EXIT_CHECKPOINT', 'EXIT_FAILURE', 'EXIT_INTERRUPTED', 'EXIT_USAGE',
           'errors', 'error_message', 'flag_names', 'flags', 'guarded', 'load_model_modules',
           'memory_budget', 'run', 'strategy', 'xla_setting']
