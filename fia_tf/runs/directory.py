"""Attacking a directory of images: resumable, atomic, with progress.

:func:`attack_directory` runs a configured :class:`fia_tf.Attack` over an
:class:`fia_tf.data.ImageSet` and writes one rounded uint8 PNG per readable
input (same stem, ``.png``) plus ``run.json`` (resolved configuration,
versions, seed, what was skipped).

Resuming: the images are split into fixed consecutive batches; a batch whose
outputs all exist is skipped, any other batch is recomputed whole, with the
same images, the same ids and so the same randomness. Since every output is
written atomically, a run killed at any moment and started again ends with
files byte-identical to an uninterrupted run. ``run.json`` pins the
configuration: resuming into a directory written with other settings is an
error, never a silent mix. Before any work the output directory is checked
against the input directory (:func:`fia_tf.runs.guards.check_output_dir`)
and locked for the run (:func:`fia_tf.runs.guards.output_lock`); a model
that gives NaN/inf logits or images stops the run
(:class:`fia_tf.runs.guards.NonFiniteError`) before that batch is written,
and such a run is never marked complete.
"""

import contextlib
import dataclasses
import datetime
import pathlib
import time
from typing import Optional

from absl import logging
import numpy as np
import tensorflow as tf

from fia_tf import distribute
from fia_tf import progress as progress_lib
from fia_tf import records
from fia_tf.data import files as io
from fia_tf.data import images as data
from fia_tf.runs import guards

RUN_FILE = 'run.json'
# run.json fields that must match for a directory to be resumed.
IDENTITY_FIELDS = ('model_name', 'layer_name', 'image_size', 'label_offset',
                   'config', 'pass_copies', 'input_dir', 'labels',
                   'id_rule', 'images', 'resize')


class RunMismatchError(ValueError):
  """An output directory holds a run with a different configuration."""


@dataclasses.dataclass
class AttackSummary:
  """What :func:`attack_directory` did.

  Attributes:
    output_dir: where the PNGs and run.json are.
    written: images attacked and written in this call.
    resumed: images whose outputs existed from an earlier call.
    skipped: ``[(file name, reason)]`` of unreadable inputs.
    notes: ``[(file name, note)]`` of format/size conversions.
    seconds: wall time of this call.
  """
  output_dir: pathlib.Path
  written: int
  resumed: int
  skipped: list
  notes: list
  seconds: float

  @property
  def seconds_per_image(self):
    return self.seconds / self.written if self.written else None


def _mismatch(old, new):
  for field in IDENTITY_FIELDS:
    was, now = old.get(field), new.get(field)
    if was != now:
      if field == 'config' and isinstance(was, dict):
        for key in sorted(set(was) | set(now)):
          if was.get(key) != now.get(key):
            return (f'config.{key}: {was.get(key)!r} there, '
                    f'{now.get(key)!r} now')
      return f'{field}: {was!r} there, {now!r} now'
  return None


def attack_directory(attack, image_set, output_dir, *, batch_size,
                     label_offset=0, model_name=None, layer_name=None,
                     overwrite=False, progress_every=10.0, extra=None,
                     max_pixels=data.DEFAULT_MAX_PIXELS, checkpoint=None):
  """Attacks every readable image of ``image_set`` into ``output_dir``.

  Args:
    attack: a :class:`fia_tf.Attack` (its source fixes the image size).
    image_set: the inputs (:func:`fia_tf.data.image_set`).
    output_dir: directory for the PNGs and ``run.json``.
    batch_size: images per attack call (fixes the resumable batches); a
      multiple of ``attack.config.micro_batch`` x replicas wastes nothing.
      Results do not depend on it when the attack has a ``micro_batch``.
    label_offset: added to the 1001-class labels to get the source model's
      class indices (``spec.label_offset``).
    model_name: the source model's name for the record (default: the
      source's own).
    layer_name: the feature layer as requested (for the record).
    overwrite: recompute everything even if outputs exist (an existing
      ``run.json`` of another configuration is then replaced).
    progress_every: seconds between progress lines.
    extra: more JSON-able fields for ``run.json`` (not compared on resume).
    max_pixels: largest width x height of an input read (0 or ``None``: no
      limit); larger inputs are skipped by name, on their header. Recorded,
      not compared on resume: a larger limit picks the skipped files up.
    checkpoint: the source model's checkpoint as loaded, for messages and
      the record (e.g. the path ``spec.find_checkpoint`` gave).

  With a multi-host ``attack.strategy`` every host runs this with the same
  arguments and ``output_dir`` on a shared file system; all hosts compute,
  the chief alone writes.

  Returns:
    An :class:`AttackSummary`.

  Raises:
    RunMismatchError: when ``output_dir`` holds a run of other settings.
    fia_tf.data.DataError: when a label is no class of the source model.
    guards.OverlapError: when ``output_dir`` is, is inside or contains the
      input directory.
    guards.OutputLockedError: when another run writes ``output_dir``.
    guards.NonFiniteError: when the model gives NaN/inf (run.json then says
      ``failed``).
    fia_tf.data.files.DiskFullError: when the disk is full (resume later).
  """
  output_dir = pathlib.Path(output_dir)
  guards.check_output_dir(output_dir, [image_set.directory])
  height, width, _ = attack.image_shape
  if height is None or height != width:
    raise ValueError(f'the source model input must be square and static, got '
                     f'{height}x{width}')
  size = int(height)
  entries = image_set.entries
  num_classes = attack.num_classes
  for entry in entries:
    label = entry.label + label_offset
    if not 0 <= label < num_classes:
      raise data.DataError(
          f'{entry.name}: label {entry.label} maps to class {label} of '
          f'{model_name or attack.source.name}, which has {num_classes} '
          'classes (0 = background has no class in 1000-class models)')

  record = {
      'model_name': model_name or attack.source.name,
      'layer_name': layer_name,
      'feature_layer': (attack.source.feature_layer
                        if attack.feature_model is not None else None),
      'image_size': size,
      'label_offset': label_offset,
      'config': attack.config.to_dict(),
      'seed': attack.config.seed,
      'batch_size': batch_size,
      'pass_copies': attack.mask_batch,
      'input_dir': str(pathlib.Path(image_set.directory).resolve()),
      'labels': str(pathlib.Path(image_set.labels_path).resolve()),
      'id_rule': image_set.id_rule,
      'images': len(entries),
      'resize': f'{data.RESIZE_METHOD}, antialias={data.RESIZE_ANTIALIAS}; '
                'resized inputs rounded to uint8 before the attack',
      'output_pixels': 'uint8, rounded to nearest',
      'max_pixels': max_pixels or None,
      **records.provenance(),
  }
  if checkpoint is not None:
    record['checkpoint'] = str(checkpoint)
  record.update(extra or {})
  writer = distribute.is_chief(attack.strategy)
  # Only the writer locks: other hosts of a multi-worker run share the
  # directory but never write it.
  with guards.output_lock(output_dir) if writer else contextlib.nullcontext():
    return _attack_locked(attack, image_set, output_dir, record, writer,
                          batch_size=batch_size, label_offset=label_offset,
                          overwrite=overwrite, progress_every=progress_every,
                          checkpoint=checkpoint, max_pixels=max_pixels)


def _attack_locked(attack, image_set, output_dir, record, writer, *,
                   batch_size, label_offset, overwrite, progress_every,
                   checkpoint, max_pixels):
  """:func:`attack_directory` once the checks passed and the lock is held."""
  entries = image_set.entries
  size = record['image_size']
  previous = io.read_json(output_dir / RUN_FILE)
  if previous is not None and not overwrite:
    why = _mismatch(previous, record)
    if why:
      raise RunMismatchError(
          f'{output_dir} holds outputs of a different run ({why}); use '
          'another output directory, or --overwrite to replace them')
  record['replicas'] = (attack.strategy.num_replicas_in_sync
                        if attack.strategy is not None else 1)
  if writer:
    # Temporary files of a write that was killed mid-way; never complete.
    for stale in output_dir.glob('.*.tmp') if output_dir.is_dir() else ():
      stale.unlink()
  record['status'] = 'running'
  record['started'] = datetime.datetime.now().isoformat(timespec='seconds')
  if writer:
    io.atomic_write_json(output_dir / RUN_FILE, record)

  what = f'{record["model_name"]} {attack.config.parts.name}'
  progress = progress_lib.Progress(len(entries), what, every=progress_every)
  start = time.monotonic()
  written = resumed = 0
  skipped, notes = [], []
  for chunk in data.batches(entries, batch_size):
    missing = [e for e in chunk if not (output_dir / e.output_name).is_file()]
    if not overwrite:
      # A batch is done when each image has its output or cannot be read;
      # unreadable files are re-checked (cheap) rather than trusted from an
      # earlier call, so fixing a file and resuming picks it up.
      reasons = [_unreadable(image_set.directory / e.name, max_pixels)
                 for e in missing]
      if all(reasons):
        resumed += len(chunk) - len(missing)
        skipped.extend((e.name, r) for e, r in zip(missing, reasons))
        progress.skip(len(chunk))
        continue
    # Rounded: the clean image the attack perturbs is exactly the image a
    # zero-perturbation run would save, so eps holds in saved pixels.
    batch = data.load_batch(image_set.directory, chunk, size,
                            round_pixels=True, max_pixels=max_pixels)
    for name, note in batch.notes:
      logging.info('%s: %s', name, note)
    for name, reason in batch.skipped:
      logging.warning('%s: skipped (%s)', name, reason)
    skipped.extend(batch.skipped)
    notes.extend(batch.notes)
    if batch.entries:
      labels = np.array([e.label + label_offset for e in batch.entries],
                        np.int32)
      ids = np.array([e.image_id for e in batch.entries], np.int64)
      adversarial = np.asarray(attack(batch.images, labels, ids))
      problem = _non_finite(attack, batch.images, adversarial)
      if problem:
        message = (f'{record["model_name"]} (checkpoint: '
                   f'{checkpoint or "as built"}) gave {problem} for '
                   f'{batch.entries[0].name}..{batch.entries[-1].name}; the '
                   'checkpoint is broken or does not fit the model, or the '
                   'model overflows float32. Nothing of this batch was '
                   f'written and {output_dir} is not complete')
        if writer:
          record.update({'status': 'failed', 'error': message})
          io.atomic_write_json(output_dir / RUN_FILE, record)
        raise guards.NonFiniteError(message)
      for entry, pixels in zip(batch.entries, adversarial):
        if writer:
          io.save_png(output_dir / entry.output_name, pixels)
      written += len(batch.entries)
    progress.update(len(chunk))

  seconds = time.monotonic() - start
  summary = AttackSummary(output_dir, written, resumed, skipped, notes,
                          seconds)
  record.update({
      'status': 'complete',
      'finished': datetime.datetime.now().isoformat(timespec='seconds'),
      'written': written, 'resumed': resumed,
      'skipped': [{'file': n, 'reason': r} for n, r in summary.skipped],
      'notes': [{'file': n, 'note': t} for n, t in notes],
      'seconds': round(seconds, 3),
      'seconds_per_image': (round(seconds / written, 4) if written else None),
  })
  if writer:
    io.atomic_write_json(output_dir / RUN_FILE, record)
  logging.info('%s: %d written, %d already done, %d skipped, %s -> %s', what,
               written, resumed, len(summary.skipped),
               progress_lib.format_seconds(seconds), output_dir)
  return summary


def _non_finite(attack, images, adversarial):
  """What is not finite: the clean logits or the attack's images (``None``
  when both are finite).

  One reduction each per batch: the clean logits catch a broken model even
  when the objective never reaches them (features only), the outputs catch
  NaN gradients (a NaN pixel would be saved as black).
  """
  logits = attack.logits(images)
  if not bool(tf.reduce_all(tf.math.is_finite(logits))):
    return 'non-finite (NaN or inf) logits on the clean images'
  if not np.all(np.isfinite(adversarial)):
    return 'non-finite (NaN or inf) adversarial pixels'
  return None


def _unreadable(path, max_pixels):
  """Why ``path`` cannot be attacked, or ``None`` when it can be read."""
  problem = data.file_problem(path)
  if problem:
    return problem
  try:
    data.read_image(path, max_pixels)
  except data.ImageReadError as e:
    return str(e).partition(': ')[2]
  return None


def is_complete(output_dir, expected=None):
  """Whether ``output_dir`` holds a finished run (optionally: of ``expected``
  identity fields, a dict like the ``run.json`` record)."""
  record = io.read_json(pathlib.Path(output_dir) / RUN_FILE)
  if not record or record.get('status') != 'complete':
    return False
  if expected is not None:
    return all(record.get(k) == v for k, v in expected.items())
  return True


def read_run(output_dir) -> Optional[dict]:
  """The ``run.json`` record of ``output_dir`` (``None`` if absent)."""
  return io.read_json(pathlib.Path(output_dir) / RUN_FILE)
