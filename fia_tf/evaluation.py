"""Transfer evaluation: clean and adversarial directories on target models.

For each target model and adversarial directory, :func:`evaluate` reports:

* ``clean_accuracy``: clean predictions equal to the ground truth;
* ``success_changed``: adversarial prediction differs from the clean
  prediction (the original ``verify.py`` metric, the paper's numbers);
* ``success_wrong``: adversarial prediction differs from the ground truth;
* ``adv_accuracy``: adversarial prediction equals the ground truth;
* ``control_changed`` / ``control_wrong``: the same for the
  zero-perturbation control, i.e. each clean image sent through the path
  the adversarial images took (resized to the attack's size, rounded to
  8 bits as saving does, resized to the target's size). Flips here come from
  resizing alone and bound how much of ``success_*`` is not the attack.

All rates are over the ``n`` images that have a readable clean and
adversarial file. Images reach a target at its size through the one filter
of :mod:`fia_tf.data` (bilinear, antialiased, kept as float).

A target model is built and loaded once per :func:`evaluate` call and
predicts every directory before the next model is loaded. With a
``cache_dir``, predictions are stored per (model, directory, file) with the
file's size and modification time, so repeated evaluations only predict
new or changed files.
"""

import contextlib
import dataclasses
import gc
import hashlib
import pathlib
from typing import Dict, List, Optional, Sequence, Tuple

from absl import logging
import numpy as np
import tensorflow as tf

from fia_tf import data
from fia_tf import distribute
from fia_tf import io
from fia_tf import pipeline
from fia_tf.zoo import registry

METRICS = ('clean_accuracy', 'adv_accuracy', 'success_changed',
           'success_wrong', 'control_changed', 'control_wrong')


class Classifier:
  """A registry model with its weights, predicting 1001-class-space labels.

  Args:
    name: registry name.
    checkpoint_dir: checkpoint root (default: the registry's).
    strategy: optional :class:`tf.distribute.Strategy`: the model is built
      in its scope and every batch is sharded across its replicas.

  Raises:
    KeyError: unknown name.
    CheckpointNotFoundError: missing checkpoint.
  """

  builds = 0  # models built by all instances (tests check: once per model)

  def __init__(self, name, checkpoint_dir=None, strategy=None):
    self.spec = registry.get_spec(name)
    self.strategy = strategy
    self.name = name
    self.size = self.spec.input_size
    self.checkpoint_dir = checkpoint_dir
    self.checkpoint, _ = self.spec.find_checkpoint(checkpoint_dir)
    self._predict = None

  def _build(self):
    # Deferred: when every prediction comes from the cache, the (slow)
    # build and checkpoint load never happen.
    scope = (self.strategy.scope() if self.strategy is not None else
             contextlib.nullcontext())
    with scope:
      model = self.spec.build()
      self.spec.load_weights(model, self.checkpoint_dir)
    Classifier.builds += 1
    preprocess = self.spec.preprocess

    @tf.function(input_signature=[
        tf.TensorSpec([None, self.size, self.size, 3], tf.float32)])
    def predict(images):
      logits = model(preprocess(images), training=False)
      return tf.argmax(logits, axis=-1, output_type=tf.int32)
    self.model = model
    self._predict = predict

  def predict(self, images):
    """Pixels ``[B, size, size, 3]`` -> 1001-class labels ``[B]``.

    Predictions are mapped back to the dataset's 1001-class convention
    (adding 1 for 1000-class models) so they compare with labels.txt.
    """
    if len(images) == 0:
      return np.zeros([0], np.int64)
    if self._predict is None:
      self._build()
    out = distribute.run_sharded(
        self.strategy, self._predict,
        tf.convert_to_tensor(images, tf.float32)).numpy()
    return out.astype(np.int64) - self.spec.label_offset

  def fingerprint(self):
    """Identifies the weights: checkpoint path, size and mtime of its index."""
    index = pathlib.Path(self.checkpoint + '.index')
    stat = index.stat() if index.exists() else pathlib.Path(
        self.checkpoint).stat()
    return f'{self.name}:{self.checkpoint}:{stat.st_size}:{stat.st_mtime_ns}'


@dataclasses.dataclass
class Predictions:
  """Predictions of one model on one directory (by file name)."""
  labels: Dict[str, int]
  skipped: List[Tuple[str, str]]


class _Cache:
  """Per-file predictions keyed by the file's size and mtime."""

  def __init__(self, cache_dir, classifier, directory, via_size):
    self.path = None
    self.values = {}
    if cache_dir is None:
      return
    key = f'{classifier.fingerprint()}|{pathlib.Path(directory).resolve()}|' \
          f'{via_size}|{data.RESIZE_METHOD}|{data.RESIZE_ANTIALIAS}'
    digest = hashlib.sha256(key.encode()).hexdigest()[:20]
    self.path = pathlib.Path(cache_dir) / classifier.name / f'{digest}.json'
    stored = io.read_json(self.path) or {}
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
      io.atomic_write_json(self.path, {'key': self.key, 'files': self.values})


def predict_directory(classifier, directory, entries, names=None,
                      via_size=None, batch_size=50, cache_dir=None,
                      progress=None):
  """Predicts every readable file of ``entries`` in ``directory``.

  Args:
    classifier: a :class:`Classifier`.
    directory: image directory.
    entries: :class:`fia_tf.data.Entry` list.
    names: file name per entry (default ``entry.name``).
    via_size: for the zero-perturbation control: first resize to this size
      and round to 8 bits, as the attack's save path does.
    batch_size: images per model call.
    cache_dir: optional prediction cache directory.
    progress: optional :class:`fia_tf.pipeline.Progress` to advance.

  Returns:
    :class:`Predictions` keyed by the names used.
  """
  directory = pathlib.Path(directory)
  names = names or [e.name for e in entries]
  cache = _Cache(cache_dir, classifier, directory, via_size)
  labels, skipped, todo = {}, [], []
  for entry, name in zip(entries, names):
    hit = cache.get(directory / name)
    if hit is not None:
      labels[name] = hit
    else:
      todo.append((entry, name))
  if progress is not None:
    progress.skip(len(entries) - len(todo))
  for start in range(0, len(todo), batch_size):
    chunk = todo[start:start + batch_size]
    batch_entries = [e for e, _ in chunk]
    batch_names = [n for _, n in chunk]
    if via_size is None:
      batch = data.load_batch(directory, batch_entries, classifier.size,
                              names=batch_names)
      images = batch.images
    else:
      batch = data.load_batch(directory, batch_entries, via_size,
                              round_pixels=True, names=batch_names)
      images = data.resize(batch.images, classifier.size)
    skipped.extend(batch.skipped)
    by_entry = dict(zip(batch_entries, batch_names))
    predicted = classifier.predict(images)
    for entry, label in zip(batch.entries, predicted):
      name = by_entry[entry]
      labels[name] = int(label)
      cache.put(directory / name, int(label))
    if progress is not None:
      progress.update(len(chunk))
  # In a multi-host run every host predicts the same files; one writes.
  cache.save(write=distribute.is_chief(classifier.strategy))
  return Predictions(labels, skipped)


def image_size_of(directory, names):
  """Height of the first readable image among ``names`` (square assumed)."""
  for name in names:
    path = pathlib.Path(directory) / name
    if path.is_file():
      try:
        pixels, _ = data.read_image(path)
      except data.ImageReadError:
        continue
      return int(pixels.shape[0])
  return None


def rates(truth, clean, adversarial, control=None):
  """The metrics of one (model, directory) from aligned label arrays."""
  truth, clean, adversarial = (np.asarray(a) for a in
                               (truth, clean, adversarial))
  n = len(truth)

  def mean(x):
    return float(np.mean(x)) if n else float('nan')
  out = {'n': n,
         'clean_accuracy': mean(clean == truth),
         'adv_accuracy': mean(adversarial == truth),
         'success_changed': mean(adversarial != clean),
         'success_wrong': mean(adversarial != truth)}
  if control is not None:
    control = np.asarray(control)
    out['control_changed'] = mean(control != clean)
    out['control_wrong'] = mean(control != truth)
  return out


def evaluate(image_set, adversarial_dirs, models, checkpoint_dir=None,
             batch_size=50, cache_dir=None, control=True, progress_every=10.0,
             strategy=None):
  """Evaluates adversarial directories on target models.

  Args:
    image_set: the clean images and labels (:func:`fia_tf.data.image_set`).
    adversarial_dirs: ``{set name: directory}`` of adversarial images named
      ``<stem>.png`` like the clean ones.
    models: target model names, or ``{set name: [model names]}`` to evaluate
      each set on its own targets.
    checkpoint_dir: checkpoint root.
    batch_size: images per model call.
    cache_dir: optional prediction cache (see module docs).
    control: also evaluate the zero-perturbation control.
    progress_every: seconds between progress lines.
    strategy: optional :class:`tf.distribute.Strategy` sharding every batch
      across its replicas (same predictions as one device).

  Returns:
    A list of row dicts, one per (set, model): ``set``, ``model``,
    ``directory``, ``n``, the :data:`METRICS`, ``missing`` (file names
    without a readable adversarial or clean image) and ``image_size`` (of
    the adversarial images).

  Raises:
    KeyError, CheckpointNotFoundError: for an unknown or missing model,
      before any model is run.
  """
  if not isinstance(models, dict):
    models = {name: list(models) for name in adversarial_dirs}
  order = []
  for names in models.values():
    for name in names:
      if name not in order:
        order.append(name)
  for name in order:
    # Fail before hours of work rather than at the n-th model.
    registry.get_spec(name).find_checkpoint(checkpoint_dir)
  entries = image_set.entries
  adv_names = [e.output_name for e in entries]
  sizes = {set_name: image_size_of(directory, adv_names)
           for set_name, directory in adversarial_dirs.items()}
  truth = {e.output_name: e.label for e in entries}
  rows = []
  total = sum(len(entries) * (1 + sum(
      (2 if control else 1) for s in adversarial_dirs
      if name in models.get(s, ()))) for name in order)
  progress = pipeline.Progress(total, 'evaluate', every=progress_every,
                               unit='predictions')
  for name in order:
    logging.info('evaluating on %s', name)
    classifier = Classifier(name, checkpoint_dir, strategy=strategy)
    clean = predict_directory(classifier, image_set.directory, entries,
                              batch_size=batch_size, cache_dir=cache_dir,
                              progress=progress)
    clean_by_out = {e.output_name: clean.labels[e.name] for e in entries
                    if e.name in clean.labels}
    controls = {}
    for set_name, directory in adversarial_dirs.items():
      if name not in models.get(set_name, ()):
        continue
      adv = predict_directory(classifier, directory, entries, names=adv_names,
                              batch_size=batch_size, cache_dir=cache_dir,
                              progress=progress)
      size = sizes[set_name]
      if control and size is not None and size not in controls:
        ctrl = predict_directory(classifier, image_set.directory, entries,
                                 via_size=size, batch_size=batch_size,
                                 cache_dir=cache_dir, progress=progress)
        controls[size] = {e.output_name: ctrl.labels[e.name]
                          for e in entries if e.name in ctrl.labels}
      elif control and size in controls:
        progress.skip(len(entries))
      common = [n for n in adv_names if n in adv.labels and
                n in clean_by_out]
      ctrl_labels = controls.get(size) if control else None
      row = {'set': set_name, 'model': name, 'directory': str(directory),
             'image_size': size}
      row.update(rates(
          [truth[n] for n in common], [clean_by_out[n] for n in common],
          [adv.labels[n] for n in common],
          ([ctrl_labels.get(n, clean_by_out[n]) for n in common]
           if ctrl_labels is not None else None)))
      row['missing'] = [n for n in adv_names if n not in common]
      rows.append(row)
      logging.info('%s on %s: n=%d clean acc %.1f%%, success %.1f%% '
                   '(changed) / %.1f%% (wrong), control %.1f%%', set_name,
                   name, row['n'], 100 * row['clean_accuracy'],
                   100 * row['success_changed'], 100 * row['success_wrong'],
                   100 * row.get('control_changed', float('nan')))
    del classifier
    gc.collect()
  return rows


def rows_for(rows, set_name) -> List[dict]:
  return [r for r in rows if r['set'] == set_name]


def select(rows, set_name, model) -> Optional[dict]:
  for r in rows:
    if r['set'] == set_name and r['model'] == model:
      return r
  return None


def default_models() -> Sequence[str]:
  return registry.PAPER_MODELS
