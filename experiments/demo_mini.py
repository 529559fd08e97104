"""FIA against its baselines on Fashion-MNIST with the mini zoo (``make demo``).

Offline: uses the committed test subset (data/fashion_mnist) and weights
(models/mini). Writes results/mini/: table.md, table.csv, summary.json,
heatmap.png, examples.png, attention.png.

  python experiments/demo_mini.py               # the table at the default eps
  python experiments/demo_mini.py --mode=sweep     # success vs eps
  python experiments/demo_mini.py --num_images=100 --sources=vgg
"""

import os
import pathlib
import sys

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from absl import app  # pylint: disable=g-import-not-at-top
from absl import flags
import tensorflow as tf

from fia_tf.mini import demo

_DEFAULT = demo.DemoConfig()
_MODE = flags.DEFINE_enum('mode', 'table', ['table', 'sweep'],
                          'table: the transfer table and figures; sweep: '
                          'success vs eps.')
_EPS = flags.DEFINE_float('eps', _DEFAULT.eps, 'L-inf budget (0..255).')
_SWEEP_EPS = flags.DEFINE_list('sweep_eps', ['4', '8', '16', '24', '32'],
                               'eps values of --mode=sweep.')
_SWEEP_METHODS = flags.DEFINE_list('sweep_methods', ['MIM', 'TIM', 'FIA'],
                                   'Methods of --mode=sweep.')
_METHODS = flags.DEFINE_list('methods', list(_DEFAULT.methods),
                             'Attack methods.')
_SOURCES = flags.DEFINE_list('sources', None,
                             'Source models (default: all normal models).')
_TARGETS = flags.DEFINE_list('targets', None,
                             'Target models (default: normal + defences).')
_NUM_IMAGES = flags.DEFINE_integer(
    'num_images', None, 'Use the first N subset images (default: all 1000 '
    'for the table, %d for the sweep).' % demo.SWEEP_IMAGES)
_ENS = flags.DEFINE_integer('ens', _DEFAULT.ens, "FIA's N.")
_SEED = flags.DEFINE_integer('seed', _DEFAULT.seed, 'Attack seed.')
_OUT = flags.DEFINE_string('out', str(demo.RESULTS_DIR), 'Output directory.')


def main(argv):
  del argv
  # Every attack is its own tf.function; TF's retracing warning is noise here.
  tf.get_logger().setLevel('ERROR')
  config = demo.DemoConfig(
      eps=_EPS.value, methods=tuple(_METHODS.value),
      sources=tuple(_SOURCES.value) if _SOURCES.value else None,
      targets=tuple(_TARGETS.value) if _TARGETS.value else None,
      num_images=_NUM_IMAGES.value or (
          demo.SWEEP_IMAGES if _MODE.value == 'sweep' else None),
      ens=_ENS.value, seed=_SEED.value)
  if _MODE.value == 'sweep':
    demo.run_sweep(config, [float(e) for e in _SWEEP_EPS.value],
                   tuple(_SWEEP_METHODS.value), _OUT.value)
  else:
    demo.run_demo(config, _OUT.value)


if __name__ == '__main__':
  app.run(main)
