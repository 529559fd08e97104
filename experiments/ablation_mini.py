"""FIA ablations on the mini models (``make ablation-mini``): success vs
feature layer depth, vs N and vs drop probability, for one source model.

Writes results/mini/ablation.md, ablation.csv, ablation_layer.png,
ablation_n.png, ablation_drop.png.
"""

import os
import pathlib

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

from absl import flags  # pylint: disable=g-import-not-at-top,wrong-import-position
import tensorflow as tf

from fia_tf import cli
from fia_tf.data import fashion_mnist
from fia_tf.demos.mini import ablation
from fia_tf.demos.mini import demo

REPO = pathlib.Path(__file__).resolve().parents[1]
_DEFAULT = ablation.AblationConfig()
_SOURCE = flags.DEFINE_string('source', _DEFAULT.source, 'Source model.')
_EPS = flags.DEFINE_float('eps', _DEFAULT.settings.eps,
                          'L-inf budget (0..255).')
_ENS_VALUES = flags.DEFINE_list(
    'ens_values', [str(v) for v in _DEFAULT.ens_values], 'N values.')
_KEEP_VALUES = flags.DEFINE_list(
    'keep_values', [str(v) for v in _DEFAULT.keep_values],
    'Keep probabilities.')
_SHARED = cli.flags.define(
    'output_dir', 'max_images', output_dir=str(REPO / 'results' / 'mini'))


def main(argv):
  cli.flags.start(argv, _SHARED)
  # Every attack is its own tf.function; TF's retracing warning is noise here.
  tf.get_logger().setLevel('ERROR')
  config = ablation.AblationConfig(
      source=_SOURCE.value,
      ens_values=tuple(int(v) for v in _ENS_VALUES.value),
      keep_values=tuple(float(v) for v in _KEEP_VALUES.value),
      settings=demo.DemoConfig(
          eps=_EPS.value, num_images=_SHARED['max_images'].value or None,
          model_dir=str(REPO / 'models' / 'mini'),
          subset_path=str(REPO / 'data' / 'fashion_mnist' /
                          fashion_mnist.SUBSET_FILE)))
  ablation.run_ablation(config, pathlib.Path(_SHARED['output_dir'].value))
  return 0


if __name__ == '__main__':
  cli.run(main)
