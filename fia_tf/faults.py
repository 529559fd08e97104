"""Errors of runs that cannot produce correct output.

Defined below every layer that raises them (the evaluation's targets, the
runs); the binaries exit with status 1 for :class:`RunError` and a run that
raised one is never marked complete. :mod:`fia_tf.runs.guards` re-exports
them.
"""


class RunError(RuntimeError):
  """A run that cannot produce correct output; it is never marked
  complete."""


class OutputLockedError(RunError):
  """Another process holds the output directory's lock."""


class NonFiniteError(RunError):
  """A model produced NaN or infinite logits, gradients or images."""
