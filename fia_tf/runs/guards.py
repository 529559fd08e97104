"""What every run that writes checks first: separate directories, one writer.

* :func:`check_output_dir` refuses an output directory that is, or lies
  inside, an input directory (or contains one), compared after resolving
  symlinks: a run writing into its own inputs reports them as already done,
  and with ``overwrite`` replaces the clean images with adversarial ones.
* :func:`output_lock` holds an exclusive ``fcntl.flock`` on
  ``<output_dir>/.fia_tf.lock`` for the run, so two runs cannot write one
  directory at once (a second one is refused at once, naming the holder's
  pid). The kernel drops the lock when its process dies, so a killed run
  never blocks the next one.
* :class:`NonFiniteError` is what a run raises when a model gives NaN/inf.

The binaries map :class:`RunError` (and a full disk,
:class:`fia_tf.data.files.DiskFullError`) to exit status 1 and
:class:`OverlapError` to 2 (bad input).
"""

import contextlib
import errno
import fcntl
import os
import pathlib

from fia_tf.faults import NonFiniteError  # pylint: disable=unused-import
from fia_tf.faults import OutputLockedError
from fia_tf.faults import RunError  # pylint: disable=unused-import

LOCK_FILE = '.fia_tf.lock'


class OverlapError(ValueError):
  """The output directory is, or overlaps, an input directory."""


def _resolved(path):
  return pathlib.Path(path).expanduser().resolve()


def _within(inner, outer):
  return inner == outer or outer in inner.parents


def check_output_dir(output_dir, inputs, *, inputs_inside_ok=False):
  """Refuses an output directory that overlaps one of ``inputs``.

  Args:
    output_dir: where the run will write (need not exist yet).
    inputs: ``{description: directory}`` or a sequence of directories the
      run reads.
    inputs_inside_ok: allow inputs that lie inside ``output_dir`` (an
      evaluation of sets under a results directory); the output may still
      not be or lie inside an input.

  Raises:
    OverlapError: naming both directories, before anything is written (or
      when ``output_dir`` is an existing file).
  """
  if pathlib.Path(output_dir).exists() and not pathlib.Path(
      output_dir).is_dir():
    raise OverlapError(f'output directory {str(output_dir)!r} is a file, not '
                       'a directory: choose a directory (it is created if '
                       'missing)')
  pairs = (inputs.items() if isinstance(inputs, dict) else
           [('input directory', d) for d in inputs])
  out = _resolved(output_dir)
  for what, directory in pairs:
    if directory is None:
      continue
    source = _resolved(directory)
    if _within(out, source):
      where = 'is' if out == source else 'lies inside'
      raise OverlapError(
          f'output directory {str(output_dir)!r} {where} the {what} '
          f'{str(directory)!r} (resolved: {source}); writing there would mix '
          'or replace the inputs: choose an output directory outside it')
    if not inputs_inside_ok and _within(source, out):
      raise OverlapError(
          f'the {what} {str(directory)!r} lies inside the output directory '
          f'{str(output_dir)!r} (resolved: {out}); choose an output '
          'directory that does not contain the inputs')


def _holder(fd):
  try:
    text = os.pread(fd, 64, 0).decode('ascii', 'replace').strip()
  except OSError:
    return None
  return int(text) if text.isdigit() else None


@contextlib.contextmanager
def output_lock(directory):
  """Holds the exclusive lock of ``directory`` (created if needed).

  The lock file is removed when the run ends; a killed run leaves it
  behind unlocked, which blocks nobody.

  Yields:
    The lock file's path.

  Raises:
    OutputLockedError: at once, when another run (process or open lock)
      holds it; the message names the directory and the holder's pid when
      it is known.
  """
  directory = pathlib.Path(directory)
  directory.mkdir(parents=True, exist_ok=True)
  path = directory / LOCK_FILE
  while True:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
      fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
      pid = _holder(fd)
      os.close(fd)
      if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
        raise
      who = f'process {pid}' if pid else 'another process'
      raise OutputLockedError(
          f'{directory} is in use by another run ({who} holds {path}); wait '
          'for it to finish or choose another output directory') from None
    try:
      same = os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
      same = False
    if same:
      break
    # The previous holder removed the file between our open and flock: this
    # lock is on a deleted file and guards nothing; take the new one.
    os.close(fd)
  try:
    try:
      # Informational only (the flock is the lock), so a full disk here
      # must not stop the run.
      os.ftruncate(fd, 0)
      os.pwrite(fd, f'{os.getpid()}\n'.encode('ascii'), 0)
    except OSError:
      pass
    yield path
  finally:
    # Removed while still held, so no other run can lock the old file.
    try:
      os.unlink(path)
    except OSError:
      pass
    os.close(fd)
