"""Transfer success of adversarial directories (the original ``verify.py``).

  python experiments/evaluate.py --ori_path=dataset/images \
      --adv_path=adv/vgg_16/FIA,adv/vgg_16/MIM --output_dir=results/eval

For every target model (default: the 14 of the paper) and adversarial
directory, reports clean accuracy, success as "prediction changed vs the
clean prediction" (the original's metric), success as "wrong vs ground
truth", and a zero-perturbation control: the clean images through the same
resize -> 8-bit -> resize path as the adversarial ones, so resize-induced
flips are visible. Each model is loaded once for all directories.

Writes ``evaluation.csv``, ``evaluation.json`` and ``evaluation.md`` in
``--output_dir`` (and a prediction cache in ``predictions/`` there, so a
second evaluation of the same files is quick). Exit status: 0 done, 2 bad
input, 3 checkpoint problem, 130 interrupted.
"""

import os
import pathlib
import sys

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from absl import app  # pylint: disable=g-import-not-at-top
from absl import flags
from absl import logging

from fia_tf import benchmark_table
from fia_tf import cli
from fia_tf import data
from fia_tf import distribute
from fia_tf import evaluation
from fia_tf import io
from fia_tf import pipeline
from fia_tf.zoo import registry

_ORI = flags.DEFINE_string('ori_path', './dataset/images/',
                           'Directory of clean images.')
_ADV = flags.DEFINE_list(
    'adv_path', ['./adv/FIA/'], 'Adversarial directories (comma separated; '
    'NAME=DIR to name a set, else the path is its name).')
_MODELS = flags.DEFINE_list('models', list(registry.PAPER_MODELS),
                            'Target models (registry names).')
_LABELS = flags.DEFINE_string(
    'labels', None, 'labels.txt or dev_dataset.csv (default: found in '
    'ori_path or its parent).')
_OUTPUT_DIR = flags.DEFINE_string('output_dir', './results/evaluate',
                                  'Where the tables go.')
_BATCH = flags.DEFINE_integer('batch_size', 50, 'Images per model call.')
_CHECKPOINT_DIR = flags.DEFINE_string(
    'checkpoint_dir', None, 'Checkpoint root (default: $FIA_TF_CHECKPOINTS '
    'or <repo>/checkpoints).')
_MODEL_MODULE = flags.DEFINE_list(
    'model_module', [], 'Modules (dotted or .py path) registering extra '
    'models, e.g. fia_tf.tiny_zoo; also $FIA_TF_MODEL_MODULES.')
_CONTROL = flags.DEFINE_bool('control', True,
                             'Also evaluate the zero-perturbation control.')
_CACHE = flags.DEFINE_bool('cache', True, 'Cache predictions per file.')
_MAX_IMAGES = flags.DEFINE_integer('max_images', 0,
                                   'Only the first N images (0: all).')
_PROGRESS = flags.DEFINE_float('progress_every', 10.0,
                               'Seconds between progress lines.')
_STRATEGY = flags.DEFINE_enum('strategy', 'default',
                              list(distribute.STRATEGIES), cli.STRATEGY_HELP)
_CPU_DEVICES = flags.DEFINE_integer('cpu_devices', 0, cli.CPU_DEVICES_HELP)


def adversarial_dirs(values):
  """``{name: path}`` from ``NAME=DIR`` or ``DIR`` items."""
  out = {}
  for item in values:
    name, sep, path = item.partition('=')
    if not sep:
      name, path = item.rstrip('/') or item, item
    if not pathlib.Path(path).is_dir():
      raise ValueError(f'adversarial directory {path!r} does not exist')
    if name in out:
      raise ValueError(f'adversarial set {name!r} is given twice')
    out[name] = pathlib.Path(path)
  if not out:
    raise ValueError('no adversarial directory given (--adv_path)')
  return out


def main(argv):
  if len(argv) > 1:
    raise ValueError(f'unexpected arguments: {argv[1:]}')
  if _BATCH.value < 1:
    raise ValueError(f'batch_size must be >= 1, got {_BATCH.value}')
  strategy = cli.strategy(_STRATEGY.value, _CPU_DEVICES.value)
  cli.load_model_modules(_MODEL_MODULE.value)
  models = list(_MODELS.value)
  if not models:
    raise ValueError('no target model given (--models)')
  for name in models:
    # Cheap, and the most likely problem: fail before reading any image.
    registry.get_spec(name).find_checkpoint(_CHECKPOINT_DIR.value)
  dirs = adversarial_dirs(_ADV.value)
  image_set = data.subset(data.image_set(_ORI.value, _LABELS.value),
                          _MAX_IMAGES.value)
  logging.info('%d clean images in %s (%s)', len(image_set),
               image_set.directory, image_set.id_rule)
  output_dir = pathlib.Path(_OUTPUT_DIR.value)
  rows = evaluation.evaluate(
      image_set, dirs, models, checkpoint_dir=_CHECKPOINT_DIR.value,
      batch_size=_BATCH.value,
      cache_dir=output_dir / 'predictions' if _CACHE.value else None,
      control=_CONTROL.value, progress_every=_PROGRESS.value,
      strategy=strategy)
  markdown = benchmark_table.evaluation_rows_markdown(rows)
  if not distribute.is_chief(strategy):
    return 0
  io.atomic_write_json(output_dir / 'evaluation.json', {
      'clean_dir': str(image_set.directory),
      'labels': str(image_set.labels_path), 'id_rule': image_set.id_rule,
      'images': len(image_set), 'models': models,
      'resize': f'{data.RESIZE_METHOD}, antialias={data.RESIZE_ANTIALIAS}',
      'versions': pipeline.versions(), 'rows': rows})
  io.atomic_write_text(output_dir / 'evaluation.csv',
                       benchmark_table.evaluation_rows_csv(rows))
  io.atomic_write_text(output_dir / 'evaluation.md', markdown)
  print(markdown)
  missing = {r['set']: len(r['missing']) for r in rows if r['missing']}
  for name, count in missing.items():
    print(f'{name}: {count} image(s) without a readable adversarial or clean '
          'file (not counted)')
  return 0


if __name__ == '__main__':
  app.run(cli.guarded(main))
