"""Transfer success of adversarial directories (the original ``verify.py``).

  python experiments/evaluate.py --ori_path=dataset/images \
      --adv_path=adv/vgg_16/FIA,adv/vgg_16/MIM --output_dir=results/eval

For every target model (default: the 14 of the paper) and adversarial
directory, reports clean accuracy, success as "prediction changed vs the
clean prediction" (the original's metric), success as "wrong vs ground
truth", success among the images the target classifies correctly when
clean (with that denominator), and a zero-perturbation control: the clean
images through the same resize -> 8-bit -> resize path as the adversarial
ones, so resize-induced flips are visible. Each model is loaded once for
all directories.

A target may sit behind input-transformation defences, written
``<model>+<defence>`` (``--models=efficientnet_lite1+jpeg75,vgg_16+rp``;
the names are in the flag's help, see ``--helpfull``).

Writes ``evaluation.csv``, ``evaluation.json`` and ``evaluation.md`` in
``--output_dir`` (and a prediction cache in ``predictions/`` there, so a
second evaluation of the same files is quick). Exit
status: 0 done, 1 run failed (NaN/inf, full disk, output directory in
use; docs/cli.md), 2 bad input, 3 checkpoint problem, 130 interrupted.
"""

import contextlib
import os
import pathlib

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

from absl import flags  # pylint: disable=g-import-not-at-top,wrong-import-position
from absl import logging

from fia_tf import cli
from fia_tf import data
from fia_tf import distribute
from fia_tf import evaluation
from fia_tf import records
from fia_tf import runs
from fia_tf.data import files
from fia_tf.evaluation import defences
from fia_tf.evaluation import tables
from fia_tf.zoo import registry

_ORI = flags.DEFINE_string('ori_path', './dataset/images/',
                           'Directory of clean images.')
_ADV = flags.DEFINE_list(
    'adv_path', ['./adv/FIA/'], 'Adversarial directories (comma separated; '
    'NAME=DIR to name a set, else the path is its name).')
_MODELS = flags.DEFINE_list(
    'models', list(registry.PAPER_MODELS),
    'Target models: registry names, each optionally behind input-'
    'transformation defences as <model>+<defence>[+<defence>] (e.g. '
    'inception_v3+jpeg75, efficientnet_lite2+rp). Defences: '
    f'{defences.known()}.')
flags.DEFINE_alias('targets', 'models')
_LABELS = flags.DEFINE_string(
    'labels', None, 'labels.txt or dev_dataset.csv (default: found in '
    'ori_path or its parent).')
_BATCH = flags.DEFINE_integer('batch_size', 50, 'Images per model call.',
                              lower_bound=1)
_CONTROL = flags.DEFINE_bool('control', True,
                             'Also evaluate the zero-perturbation control.')
_CACHE = flags.DEFINE_bool('cache', True, 'Cache predictions per file.')
_SHARED = cli.flags.define(
    'output_dir', 'checkpoint_dir', 'model_module', 'max_images',
    'max_pixels', 'progress_every', 'strategy', 'cpu_devices',
    output_dir='./results/evaluate')


def adversarial_dirs(values):
  """``{name: path}`` from ``NAME=DIR`` or ``DIR`` items."""
  out = {}
  for item in values:
    name, sep, path = item.partition('=')
    if not sep:
      name, path = item.rstrip('/') or item, item
    if not pathlib.Path(path).is_dir():
      why = ('is a file, not a directory' if pathlib.Path(path).exists()
             else 'does not exist')
      raise ValueError(f'adversarial directory {path!r} (--adv_path) {why}')
    if name in out:
      raise ValueError(f'adversarial set {name!r} is given twice')
    out[name] = pathlib.Path(path)
  if not out:
    raise ValueError('no adversarial directory given (--adv_path)')
  return out


def main(argv):
  strategy = cli.flags.start(argv, _SHARED)
  models = list(_MODELS.value)
  if not models:
    raise ValueError('no target model given (--models)')
  checkpoint_dir = _SHARED['checkpoint_dir'].value
  for name in models:
    # Cheap, and the most likely problems: fail before reading any image.
    defences.check(name)
    registry.get_spec(defences.base_name(name)).find_checkpoint(
        checkpoint_dir)
  dirs = adversarial_dirs(_ADV.value)
  image_set = data.subset(data.image_set(_ORI.value, _LABELS.value),
                          _SHARED['max_images'].value)
  logging.info('%d clean images in %s (%s)', len(image_set),
               image_set.directory, image_set.id_rule)
  output_dir = pathlib.Path(_SHARED['output_dir'].value)
  # The report may sit above the adversarial sets (results/<grid>), never
  # inside an input, nor around the clean images.
  runs.guards.check_output_dir(output_dir, {
      f'adversarial directory {name!r}': d for name, d in dirs.items()},
                               inputs_inside_ok=True)
  runs.guards.check_output_dir(output_dir, {'clean image directory (--ori_path)':
                                            image_set.directory})
  chief = distribute.is_chief(strategy)
  with runs.guards.output_lock(output_dir) if chief else (
      contextlib.nullcontext()):
    return _evaluate(image_set, dirs, models, checkpoint_dir, output_dir,
                     strategy)


def _evaluate(image_set, dirs, models, checkpoint_dir, output_dir, strategy):
  """Evaluates and writes the report (the output directory is locked)."""
  rows = evaluation.evaluate_directories(
      image_set, dirs, models, checkpoint_dir=checkpoint_dir,
      batch_size=_BATCH.value,
      cache_dir=output_dir / 'predictions' if _CACHE.value else None,
      control=_CONTROL.value,
      progress_every=_SHARED['progress_every'].value, strategy=strategy,
      max_pixels=_SHARED['max_pixels'].value)
  markdown = tables.rows_markdown(rows)
  if not distribute.is_chief(strategy):
    return 0
  files.atomic_write_json(output_dir / 'evaluation.json', {
      'clean_dir': str(image_set.directory),
      'labels': str(image_set.labels_path), 'id_rule': image_set.id_rule,
      'images': len(image_set), 'models': models,
      'resize': f'{data.RESIZE_METHOD}, antialias={data.RESIZE_ANTIALIAS}',
      'flags': cli.flags.key_flags(), **records.provenance(), 'rows': rows})
  files.atomic_write_text(output_dir / 'evaluation.csv',
                          tables.rows_csv(rows))
  files.atomic_write_text(output_dir / 'evaluation.md', markdown)
  print(markdown)
  missing = {r['set']: len(r['missing']) for r in rows if r['missing']}
  for name, count in missing.items():
    print(f'{name}: {count} image(s) without a readable adversarial or clean '
          'file (not counted)')
  return 0


if __name__ == '__main__':
  cli.run(main)
