"""Crash-safe file output: atomic writes and rounded uint8 PNGs.

Every file the binaries write goes through :func:`atomic_write_bytes`: the
bytes land in a temporary file in the target directory, are flushed to disk
and then renamed over the target with ``os.replace``. A run killed at any
moment therefore leaves each output either absent or complete, never
truncated, which is what makes resuming safe. A full disk (``ENOSPC``, or
a quota: ``EDQUOT``) raises :class:`DiskFullError` naming the directory,
with the temporary file removed.
"""

import errno
import json
import os
import pathlib
import tempfile

import imageio.v3 as iio
import numpy as np

def _current_umask():
  mask = os.umask(0)
  os.umask(mask)
  return mask


# mkstemp creates files readable by the owner only; outputs get the usual
# permissions instead.
_FILE_MODE = 0o666 & ~_current_umask()

# PNG options fixed here so that identical pixels always give identical bytes.
_PNG_OPTIONS = {'extension': '.png', 'compress_level': 6}

_FULL = (errno.ENOSPC, errno.EDQUOT)


class DiskFullError(OSError):
  """No space (or quota) left where an output is written.

  An ``OSError`` with the original ``errno`` and ``filename``; its message
  is one sentence naming the directory.
  """

  def __str__(self):
    return self.strerror


def is_disk_full(error):
  """Whether ``error`` is an ``OSError`` of a full disk or quota."""
  return isinstance(error, OSError) and error.errno in _FULL


def disk_full_message(directory, error=None):
  """The one sentence telling the user what happened and what to do."""
  why = 'disk quota exceeded' if getattr(error, 'errno', None) == (
      errno.EDQUOT) else 'no space left on device'
  return (f'{why} while writing into {directory}: free some space there (or '
          'choose another output directory) and run the same command again; '
          'it resumes where it stopped')


def atomic_write_bytes(path, data):
  """Writes ``data`` to ``path`` so that readers never see a partial file.

  Args:
    path: destination file; its directory is created if needed.
    data: bytes.

  Returns:
    ``path`` as a :class:`pathlib.Path`.

  Raises:
    DiskFullError: when the disk or quota is full (nothing is left behind).
  """
  path = pathlib.Path(path)
  try:
    _write_replacing(path, data)
  except OSError as e:
    if is_disk_full(e) and not isinstance(e, DiskFullError):
      raise DiskFullError(e.errno, disk_full_message(path.parent, e),
                          str(path)) from e
    raise
  return path


def _write_replacing(path, data):
  path.parent.mkdir(parents=True, exist_ok=True)
  fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f'.{path.name}.',
                             suffix='.tmp')
  try:
    with os.fdopen(fd, 'wb') as f:
      f.write(data)
      f.flush()
      os.fsync(f.fileno())
    os.chmod(tmp, _FILE_MODE)
    os.replace(tmp, path)
  except BaseException:
    # Also on KeyboardInterrupt: leave no temporary files behind.
    try:
      os.unlink(tmp)
    except FileNotFoundError:
      pass
    raise


def atomic_write_text(path, text):
  """:func:`atomic_write_bytes` for UTF-8 text."""
  return atomic_write_bytes(path, text.encode('utf-8'))


def atomic_write_json(path, value):
  """Writes ``value`` as indented, key-sorted JSON (stable across runs)."""
  return atomic_write_text(
      path, json.dumps(value, indent=2, sort_keys=True, default=_jsonable) +
      '\n')


def _jsonable(value):
  if isinstance(value, np.generic):
    return value.item()
  if isinstance(value, np.ndarray):
    return value.tolist()
  if isinstance(value, pathlib.PurePath):
    return str(value)
  raise TypeError(f'{type(value).__name__} is not JSON serialisable')


def read_json(path):
  """Reads a JSON file; ``None`` when it does not exist."""
  try:
    with open(path, encoding='utf-8') as f:
      return json.load(f)
  except FileNotFoundError:
    return None


def to_uint8(pixels):
  """Float pixels -> uint8, rounded to nearest (not truncated) and clipped.

  The original code truncated with ``astype('uint8')``, which biases every
  pixel down by half a level on average and can push a perturbation just
  outside its eps-ball. ``np.rint`` rounds halves to even.

  Args:
    pixels: array-like of pixel values in (about) [0, 255].

  Returns:
    uint8 ``np.ndarray`` of the same shape.
  """
  pixels = np.asarray(pixels)
  if pixels.dtype == np.uint8:
    return pixels
  return np.clip(np.rint(pixels), 0, 255).astype(np.uint8)


def encode_png(pixels):
  """PNG bytes of an ``[H, W, 3]`` (or ``[H, W]``) image, rounded to uint8."""
  return iio.imwrite('<bytes>', to_uint8(pixels), **_PNG_OPTIONS)


def save_png(path, pixels):
  """Atomically writes ``pixels`` (float or uint8) as a PNG file."""
  return atomic_write_bytes(path, encode_png(pixels))
