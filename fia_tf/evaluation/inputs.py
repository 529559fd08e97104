"""The images an evaluation predicts: in memory or in directories.

:func:`fia_tf.evaluation.evaluate` asks an *inputs* object for predictions
aligned with its images (one row per image, ``-1`` where an image could not
be read) and never cares where they come from:

* :class:`ArrayInputs`: clean and adversarial images as arrays (the demos);
* :class:`DirectoryInputs`: a labelled clean image directory
  (:func:`fia_tf.data.image_set`) and one directory per adversarial set,
  with per-file prediction caching (the paper grid, ``evaluate.py``).
"""

import numpy as np

from fia_tf.data import images as images_lib
from fia_tf.evaluation import predictions as predictions_lib

MISSING = -1


class ArrayInputs:
  """Clean and adversarial images in memory.

  Args:
    images: clean float (or uint8) pixels ``[N, H, W, C]``.
    labels: ground-truth labels ``[N]`` (the data set's label space).
    adversarial: ``{set name: float pixels [N, h, w, C]}``; each set's
      images are at its source's input size.
  """

  def __init__(self, images, labels, adversarial):
    self.images = np.asarray(images, np.float32)
    self.truth = np.asarray(labels, np.int64)
    self.adversarial = dict(adversarial)
    for name, adv in self.adversarial.items():
      if len(adv) != len(self.images):
        raise ValueError(f'adversarial set {name!r} has {len(adv)} images '
                         f'for {len(self.images)} clean ones')

  @property
  def count(self):
    return len(self.truth)

  def clean(self, target, progress=None):
    out = target.predict(self.images)
    if progress is not None:
      progress.update(self.count)
    return out

  def adversarial_size(self, set_name):
    return int(self.adversarial[set_name].shape[1])

  def predict(self, target, set_name, progress=None):
    out = target.predict(self.adversarial[set_name])
    if progress is not None:
      progress.update(self.count)
    return out

  def control(self, target, size, progress=None):
    """Clean images resized to ``size``, rounded to 8 bits, predicted."""
    via = np.rint(images_lib.resize(self.images, size))
    out = target.predict(via)
    if progress is not None:
      progress.update(self.count)
    return out

  def describe(self, set_name):
    del set_name
    return {}

  def names(self):
    return [str(i) for i in range(self.count)]


class DirectoryInputs:
  """A clean image set and adversarial directories of PNGs.

  Adversarial files are named ``<stem>.png`` like the clean ones (what
  :func:`fia_tf.runs.attack_directory` writes).

  Args:
    image_set: the clean images and labels.
    directories: ``{set name: directory}``.
    batch_size: images read per model call.
    cache_dir: optional per-file prediction cache.
    max_pixels: largest width x height read; larger files are skipped.
  """

  def __init__(self, image_set, directories, batch_size=50, cache_dir=None,
               max_pixels=images_lib.DEFAULT_MAX_PIXELS):
    self.image_set = image_set
    self.entries = image_set.entries
    self.truth = np.array([e.label for e in self.entries], np.int64)
    self.directories = dict(directories)
    self.batch_size, self.cache_dir = batch_size, cache_dir
    self.max_pixels = max_pixels
    self.output_names = [e.output_name for e in self.entries]
    self._sizes = {}

  @property
  def count(self):
    return len(self.entries)

  def _aligned(self, labels, names):
    return np.array([labels.get(n, MISSING) for n in names], np.int64)

  def clean(self, target, progress=None):
    found = predictions_lib.predict_directory(
        target, self.image_set.directory, self.entries,
        batch_size=self.batch_size, cache_dir=self.cache_dir,
        progress=progress, max_pixels=self.max_pixels)
    return self._aligned(found.labels, [e.name for e in self.entries])

  def adversarial_size(self, set_name):
    if set_name not in self._sizes:
      self._sizes[set_name] = predictions_lib.image_size_of(
          self.directories[set_name], self.output_names, self.max_pixels)
    return self._sizes[set_name]

  def predict(self, target, set_name, progress=None):
    found = predictions_lib.predict_directory(
        target, self.directories[set_name], self.entries,
        names=self.output_names, batch_size=self.batch_size,
        cache_dir=self.cache_dir, progress=progress,
        max_pixels=self.max_pixels)
    return self._aligned(found.labels, self.output_names)

  def control(self, target, size, progress=None):
    found = predictions_lib.predict_directory(
        target, self.image_set.directory, self.entries, via_size=size,
        batch_size=self.batch_size, cache_dir=self.cache_dir,
        progress=progress, max_pixels=self.max_pixels)
    return self._aligned(found.labels, [e.name for e in self.entries])

  def describe(self, set_name):
    return {'directory': str(self.directories[set_name])}

  def names(self):
    return self.output_names
