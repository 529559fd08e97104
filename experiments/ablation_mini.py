"""FIA ablations on the mini zoo (``make ablation-mini``): success vs feature
layer depth, vs N and vs drop probability, for one source model.

Writes results/mini/ablation.md, ablation.csv, ablation_layer.png,
ablation_n.png, ablation_drop.png.
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

from fia_tf.mini import ablation
from fia_tf.mini import demo

_DEFAULT = ablation.AblationConfig()
_SOURCE = flags.DEFINE_string('source', _DEFAULT.source, 'Source model.')
_EPS = flags.DEFINE_float('eps', _DEFAULT.settings.eps,
                          'L-inf budget (0..255).')
_NUM_IMAGES = flags.DEFINE_integer('num_images', None,
                                   'Use the first N subset images.')
_ENS_VALUES = flags.DEFINE_list(
    'ens_values', [str(v) for v in _DEFAULT.ens_values], 'N values.')
_KEEP_VALUES = flags.DEFINE_list(
    'keep_values', [str(v) for v in _DEFAULT.keep_values],
    'Keep probabilities.')
_OUT = flags.DEFINE_string('out', str(demo.RESULTS_DIR), 'Output directory.')


def main(argv):
  del argv
  # Every attack is its own tf.function; TF's retracing warning is noise here.
  tf.get_logger().setLevel('ERROR')
  config = ablation.AblationConfig(
      source=_SOURCE.value,
      ens_values=tuple(int(v) for v in _ENS_VALUES.value),
      keep_values=tuple(float(v) for v in _KEEP_VALUES.value),
      settings=demo.DemoConfig(eps=_EPS.value,
                               num_images=_NUM_IMAGES.value))
  ablation.run_ablation(config, _OUT.value)


if __name__ == '__main__':
  app.run(main)
