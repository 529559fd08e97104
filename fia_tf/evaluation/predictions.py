"""Predictions of a target on an image directory, cached per file.

:func:`predict_directory` reads every readable file of a directory at the
target's input size (the one filter of :mod:`fia_tf.data`), predicts it and,
with a cache directory, stores each prediction keyed by the target's
fingerprint, the directory, the file's size and modification time, so a
repeated evaluation only predicts new or changed files.
"""

import dataclasses
import hashlib
import pathlib
from typing import Dict, List, Tuple

from fia_tf import distribute
from fia_tf.data import files
from fia_tf.data import images as images_lib


@dataclasses.dataclass
class Predictions:
  """Predictions of one target on one directory (by file name)."""
  labels: Dict[str, int]
  skipped: List[Tuple[str, str]]


class _Cache:
  """Per-file predictions keyed by the file's size and mtime."""

  def __init__(self, cache_dir, target, directory, via_size):
    self.path = None
    self.values = {}
    if cache_dir is None:
      return
    key = (f'{target.fingerprint()}|{pathlib.Path(directory).resolve()}|'
           f'{via_size}|{images_lib.RESIZE_METHOD}|'
           f'{images_lib.RESIZE_ANTIALIAS}')
    digest = hashlib.sha256(key.encode()).hexdigest()[:20]
    self.path = pathlib.Path(cache_dir) / target.name / f'{digest}.json'
    stored = files.read_json(self.path) or {}
    self.values = stored.get('files', {})
    self.key = key

  @staticmethod
  def stamp(path):
    try:
      stat = path.stat()
    except FileNotFoundError:
      return None
    return f'{stat.st_size}:{stat.st_mtime_ns}'

  def get(self, path):
    entry = self.values.get(path.name)
    if entry and entry[0] == self.stamp(path):
      return entry[1]
    return None

  def put(self, path, label):
    self.values[path.name] = [self.stamp(path), label]

  def save(self, write=True):
    if self.path is not None and write:
      files.atomic_write_json(self.path, {'key': self.key,
                                          'files': self.values})


def predict_directory(target, directory, entries, names=None, via_size=None,
                      batch_size=50, cache_dir=None, progress=None,
                      max_pixels=images_lib.DEFAULT_MAX_PIXELS):
  """Predicts every readable file of ``entries`` in ``directory``.

  Args:
    target: a :class:`fia_tf.evaluation.Target`.
    directory: image directory.
    entries: :class:`fia_tf.data.Entry` list.
    names: file name per entry (default ``entry.name``).
    via_size: for the zero-perturbation control: first resize to this size
      and round to 8 bits, as the attack's save path does.
    batch_size: images read per model call.
    cache_dir: optional prediction cache directory.
    progress: optional :class:`fia_tf.progress.Progress` to advance.
    max_pixels: largest width x height read; larger files are skipped.

  Returns:
    :class:`Predictions` keyed by the names used.
  """
  directory = pathlib.Path(directory)
  names = names or [e.name for e in entries]
  cache = _Cache(cache_dir, target, directory, via_size)
  labels, skipped, todo = {}, [], []
  for entry, name in zip(entries, names):
    hit = cache.get(directory / name)
    if hit is not None:
      labels[name] = hit
    else:
      todo.append((entry, name))
  if progress is not None:
    progress.skip(len(entries) - len(todo))
  size = target.input_size
  if size is None and via_size is None:
    raise ValueError(f'{target.name} takes images of any size; directories '
                     'are evaluated on targets with a fixed input size')
  for start in range(0, len(todo), batch_size):
    chunk = todo[start:start + batch_size]
    batch_entries = [e for e, _ in chunk]
    batch_names = [n for _, n in chunk]
    if via_size is None:
      batch = images_lib.load_batch(directory, batch_entries, size,
                                    names=batch_names, max_pixels=max_pixels)
    else:
      batch = images_lib.load_batch(directory, batch_entries, via_size,
                                    round_pixels=True, names=batch_names,
                                    max_pixels=max_pixels)
    skipped.extend(batch.skipped)
    by_entry = dict(zip(batch_entries, batch_names))
    for entry, label in zip(batch.entries, target.predict(batch.images)):
      name = by_entry[entry]
      labels[name] = int(label)
      cache.put(directory / name, int(label))
    if progress is not None:
      progress.update(len(chunk))
  # In a multi-host run every host predicts the same files; one writes.
  cache.save(write=distribute.is_chief(getattr(target, 'strategy', None)))
  return Predictions(labels, skipped)


def image_size_of(directory, names,
                  max_pixels=images_lib.DEFAULT_MAX_PIXELS):
  """Height of the first readable image among ``names`` (square assumed)."""
  for name in names:
    path = pathlib.Path(directory) / name
    if path.is_file():
      try:
        pixels, _ = images_lib.read_image(path, max_pixels)
      except images_lib.ImageReadError:
        continue
      return int(pixels.shape[0])
  return None
