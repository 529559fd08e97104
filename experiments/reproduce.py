"""The paper's ImageNet-compatible benchmark end to end (``make reproduce``).

  python experiments/reproduce.py                  # the full grid (paper.json)
  python experiments/reproduce.py --dry_run        # tiny zoo, 4 images, ~1 min
  python experiments/reproduce.py --sources=vgg_16 --methods=MIM,FIA \
      --max_images=100                             # a small subset

Runs every attack of the grid in ``experiments/configs/<config>.json``, then
every evaluation, skipping work already done (finished sets, cached
predictions; an interrupted run resumes). Writes to ``results/<name>/``:
``adv/<source>/<method>[_p<keep>]/`` (images + run.json), ``results.md``,
``table_changed.{md,csv,png}`` (the paper's layout: rows source x method,
columns targets; success = prediction changed vs clean),
``table_wrong.{md,csv,png}`` (success = wrong vs ground truth),
``evaluation.{csv,json}`` and ``reproduce.json``.

Needs the checkpoints (``make checkpoints``) and the 1000 images with
labels.txt in ``dataset/`` (or --input_dir/--labels); without them it stops
at once with a message saying what to put where. Exit status: 0 done, 2 bad
input, 3 checkpoint problem, 130 interrupted (run again to resume).
"""

import os
import pathlib
import sys

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from absl import app  # pylint: disable=g-import-not-at-top
from absl import flags

from fia_tf import benchmark
from fia_tf import cli
from fia_tf import distribute

_CONFIG = flags.DEFINE_string(
    'config', 'paper', 'Benchmark config: a name in experiments/configs or a '
    'JSON path.')
_DRY_RUN = flags.DEFINE_bool(
    'dry_run', False, 'Use the dry_run config: tiny random-weight nets and '
    'the 4 test images, the whole path in about a minute.')
_OUTPUT_DIR = flags.DEFINE_string('output_dir', None,
                                  'Results directory (default: '
                                  'results/<config name>).')
_INPUT_DIR = flags.DEFINE_string('input_dir', None,
                                 'Clean images (overrides the config).')
_LABELS = flags.DEFINE_string('labels', None, 'labels.txt or dev_dataset.csv '
                              '(overrides the config).')
_CHECKPOINT_DIR = flags.DEFINE_string(
    'checkpoint_dir', None, 'Checkpoint root (default: $FIA_TF_CHECKPOINTS '
    'or <repo>/checkpoints).')
_MAX_IMAGES = flags.DEFINE_integer('max_images', 0,
                                   'Only the first N images (0: all).')
_SOURCES = flags.DEFINE_list('sources', None,
                             'Only these source models of the grid.')
_METHODS = flags.DEFINE_list('methods', None, 'Only these methods.')
_XLA = flags.DEFINE_enum('xla', 'auto', ['auto', 'on', 'off'],
                         'XLA for the attacks (auto: on with a GPU).')
_MODEL_MODULE = flags.DEFINE_list(
    'model_module', [], 'Modules registering extra models (also '
    '$FIA_TF_MODEL_MODULES).')
_ATTACK_ONLY = flags.DEFINE_bool('attack_only', False,
                                 'Run the attacks, skip the evaluation.')
_PROGRESS = flags.DEFINE_float('progress_every', 30.0,
                               'Seconds between progress lines.')
_STRATEGY = flags.DEFINE_enum('strategy', 'default',
                              list(distribute.STRATEGIES), cli.STRATEGY_HELP)
_CPU_DEVICES = flags.DEFINE_integer('cpu_devices', 0, cli.CPU_DEVICES_HELP)
_MEMORY = flags.DEFINE_float(
    'memory_budget_mib', None, 'FIA: activation memory per replica for the '
    'masked copies, MiB (default: the config\'s, else from the device '
    'memory). Changes speed and peak memory, never the result.')


def main(argv):
  if len(argv) > 1:
    raise ValueError(f'unexpected arguments: {argv[1:]}')
  strategy = cli.strategy(_STRATEGY.value, _CPU_DEVICES.value)
  cli.load_model_modules(_MODEL_MODULE.value)
  config = 'dry_run' if _DRY_RUN.value else _CONFIG.value
  cwd = pathlib.Path.cwd()
  overrides = {
      'input_dir': str(cwd / _INPUT_DIR.value) if _INPUT_DIR.value else None,
      'labels': str(cwd / _LABELS.value) if _LABELS.value else None}
  bench = benchmark.select(benchmark.load(config, overrides), _SOURCES.value,
                           _METHODS.value)
  budget = cli.memory_budget(_MEMORY.value)
  if budget is not None:
    bench.attack = dict(bench.attack, memory_budget=budget)
  output_dir = pathlib.Path(_OUTPUT_DIR.value or
                            benchmark.REPO_ROOT / 'results' / bench.name)
  tables = benchmark.run(
      bench, output_dir, checkpoint_dir=_CHECKPOINT_DIR.value,
      max_images=_MAX_IMAGES.value or None,
      jit_compile=cli.xla_setting(_XLA.value),
      progress_every=_PROGRESS.value, evaluate=not _ATTACK_ONLY.value,
      strategy=strategy)
  if tables is not None:
    from fia_tf import benchmark_table  # pylint: disable=g-import-not-at-top
    print(benchmark_table.to_markdown(tables['changed']))
    print(f'results in {output_dir}/results.md')
  return 0


if __name__ == '__main__':
  app.run(cli.guarded(main))
