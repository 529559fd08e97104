"""The paper's ImageNet-compatible benchmark end to end (``make reproduce``).

  python experiments/reproduce.py                  # the full grid (paper.json)
  python experiments/reproduce.py --dry_run        # tiny zoo, 4 images, ~1 min
  python experiments/reproduce.py --sources=vgg_16 --methods=MIM,FIA \
      --max_images=100                             # a small subset

Runs every attack of the grid in ``experiments/configs/<config>.json``, then
every evaluation, skipping work already done (finished sets, cached
predictions; an interrupted run resumes). Writes to ``results/<name>/``:
``adv/<source>/<method>[_p<keep>]/`` (images + run.json), ``results.md``,
``table_changed.{md,csv,json,png}`` (the paper's layout: rows source x
method, columns targets; success = prediction changed vs clean),
``table_wrong.*`` (success = wrong vs ground truth), ``table_correct.*``
(wrong among the images the target classifies correctly when clean),
``evaluation.{csv,json}`` and ``reproduce.json``.

Needs the checkpoints (``make checkpoints``) and the 1000 images with
labels.txt in ``dataset/`` (or --input_dir/--labels); without them it stops
at once with a message saying what to put where. Exit
status: 0 done, 1 run failed (NaN/inf, full disk, output directory in
use; docs/cli.md), 2 bad input, 3 checkpoint problem, 130 interrupted (run again to resume).
"""

import os
import pathlib

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

from absl import flags  # pylint: disable=g-import-not-at-top,wrong-import-position

from fia_tf import cli
from fia_tf.evaluation import tables
from fia_tf.runs import grid as grid_lib

REPO = pathlib.Path(__file__).resolve().parents[1]
CONFIG_DIR = REPO / 'experiments' / 'configs'

_CONFIG = flags.DEFINE_string(
    'config', 'paper', 'Grid config: a name in experiments/configs or a JSON '
    'path.')
_DRY_RUN = flags.DEFINE_bool(
    'dry_run', False, 'Use the dry_run config: tiny random-weight nets and '
    'the 4 test images, the whole path in about a minute.')
_INPUT_DIR = flags.DEFINE_string('input_dir', None,
                                 'Clean images (overrides the config).')
_LABELS = flags.DEFINE_string('labels', None, 'labels.txt or dev_dataset.csv '
                              '(overrides the config).')
_SOURCES = flags.DEFINE_list('sources', None,
                             'Only these source models of the grid.')
_METHODS = flags.DEFINE_list('methods', None, 'Only these methods.')
_ATTACK_ONLY = flags.DEFINE_bool('attack_only', False,
                                 'Run the attacks, skip the evaluation.')
_SHARED = cli.flags.define(
    'output_dir', 'checkpoint_dir', 'max_images', 'max_pixels', 'xla',
    'model_module',
    'progress_every', 'strategy', 'cpu_devices', 'memory_budget_mib',
    output_dir=(None, 'Results directory (default: results/<config name>).'),
    progress_every=30.0)


def main(argv):
  strategy = cli.flags.start(argv, _SHARED)
  config = 'dry_run' if _DRY_RUN.value else _CONFIG.value
  cwd = pathlib.Path.cwd()
  overrides = {
      'input_dir': str(cwd / _INPUT_DIR.value) if _INPUT_DIR.value else None,
      'labels': str(cwd / _LABELS.value) if _LABELS.value else None}
  grid = grid_lib.select(
      grid_lib.load(config, overrides, root=REPO, config_dir=CONFIG_DIR),
      _SOURCES.value, _METHODS.value)
  budget = cli.memory_budget(_SHARED['memory_budget_mib'].value)
  if budget is not None:
    grid.attack = dict(grid.attack, memory_budget=budget)
  output_dir = pathlib.Path(_SHARED['output_dir'].value or
                            REPO / 'results' / grid.name)
  out = grid_lib.run(
      grid, output_dir, checkpoint_dir=_SHARED['checkpoint_dir'].value,
      max_images=_SHARED['max_images'].value or None,
      jit_compile=cli.xla_setting(_SHARED['xla'].value),
      progress_every=_SHARED['progress_every'].value,
      evaluate=not _ATTACK_ONLY.value, strategy=strategy,
      max_pixels=_SHARED['max_pixels'].value)
  if out is not None:
    print(tables.to_markdown(out['success_changed']))
    print(f'results in {output_dir}/results.md')
  return 0


if __name__ == '__main__':
  cli.run(main)
