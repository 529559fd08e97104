"""FIA against its baselines on Fashion-MNIST with the mini models (``make demo``).

Offline: uses the committed test subset (data/fashion_mnist) and weights
(models/mini). Writes results/mini/: results.md, table_{changed,wrong,
correct}.{md,csv,json}, evaluation.csv, summary.json, heatmap.png,
examples.png, attention.png.

  python experiments/demo_mini.py                  # the table at the default eps
  python experiments/demo_mini.py --mode=sweep     # success vs eps
  python experiments/demo_mini.py --max_images=100 --sources=vgg
"""

import os
import pathlib

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

from absl import flags  # pylint: disable=g-import-not-at-top,wrong-import-position
import tensorflow as tf

from fia_tf import cli
from fia_tf.data import fashion_mnist
from fia_tf.demos.mini import demo

REPO = pathlib.Path(__file__).resolve().parents[1]
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
_ENS = flags.DEFINE_integer('ens', _DEFAULT.ens, "FIA's N.")
_SHARED = cli.flags.define(
    'output_dir', 'max_images', 'seed',
    output_dir=str(REPO / 'results' / 'mini'),
    max_images=(0, 'Use the first N subset images (0: all 1000 for the '
                f'table, {demo.SWEEP_IMAGES} for the sweep).'))


def main(argv):
  cli.flags.start(argv, _SHARED)
  # Every attack is its own tf.function; TF's retracing warning is noise here.
  tf.get_logger().setLevel('ERROR')
  config = demo.DemoConfig(
      eps=_EPS.value, methods=tuple(_METHODS.value),
      sources=tuple(_SOURCES.value) if _SOURCES.value else None,
      targets=tuple(_TARGETS.value) if _TARGETS.value else None,
      num_images=_SHARED['max_images'].value or (
          demo.SWEEP_IMAGES if _MODE.value == 'sweep' else None),
      ens=_ENS.value, seed=_SHARED['seed'].value,
      model_dir=str(REPO / 'models' / 'mini'),
      subset_path=str(REPO / 'data' / 'fashion_mnist' /
                      fashion_mnist.SUBSET_FILE))
  out = pathlib.Path(_SHARED['output_dir'].value)
  if _MODE.value == 'sweep':
    demo.run_sweep(config, [float(e) for e in _SWEEP_EPS.value],
                   tuple(_SWEEP_METHODS.value), out)
  else:
    demo.run_demo(config, out)
  return 0


if __name__ == '__main__':
  cli.run(main)
