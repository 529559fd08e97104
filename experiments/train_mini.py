"""Trains the mini models on Fashion-MNIST (``make train-mini``).

Writes models/mini/<name>.weights.h5, accuracy.json, train_log.json and
train_log.txt. Seeded and run with deterministic ops, so a rerun on the same
machine reproduces the weights.

  python experiments/train_mini.py                       # all mini models
  python experiments/train_mini.py --models=vgg,resnet_v1
  python experiments/train_mini.py --make_subset         # rewrite the subset
"""

import os
import pathlib
import time

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

from absl import flags  # pylint: disable=g-import-not-at-top,wrong-import-position
import tensorflow as tf

from fia_tf import cli
from fia_tf.data import fashion_mnist
from fia_tf.demos.mini import train as train_lib

REPO = pathlib.Path(__file__).resolve().parents[1]
SUBSET = REPO / 'data' / 'fashion_mnist' / fashion_mnist.SUBSET_FILE

_MODELS = flags.DEFINE_list('models', None,
                            'Models to train (default: all mini models).')
_MODEL_DIR = flags.DEFINE_string('model_dir', str(REPO / 'models' / 'mini'),
                                 'Where weights and records go.')
_DATA = flags.DEFINE_string(
    'data', None, 'Directory of Fashion-MNIST IDX files tried first '
    '(then the Debian path, then the Keras download).')
_EPOCHS_SCALE = flags.DEFINE_float('epochs_scale', 1.0,
                                   'Multiplies every epoch count.')
_TRAIN_LIMIT = flags.DEFINE_integer('train_limit', None,
                                    'Use only the first N training images.')
_MAKE_SUBSET = flags.DEFINE_bool(
    'make_subset', False, 'Rewrite the committed 1000-image test subset from '
    'the full test split, then exit.')


def main(argv):
  del argv
  tf.config.experimental.enable_op_determinism()
  if _MAKE_SUBSET.value:
    images, labels, _ = fashion_mnist.load('test', _DATA.value)
    fashion_mnist.save_subset(images, labels,
                              fashion_mnist.make_subset(labels), SUBSET)
    print(f'wrote {SUBSET}')
    return 0
  model_dir = pathlib.Path(_MODEL_DIR.value)
  model_dir.mkdir(parents=True, exist_ok=True)
  with open(model_dir / 'train_log.txt', 'a', encoding='utf-8') as log_file:

    def log(line):
      line = f'[{time.strftime("%H:%M:%S")}] {line}'
      print(line, flush=True)
      log_file.write(line + '\n')
      log_file.flush()

    config = train_lib.TrainConfig(epochs_scale=_EPOCHS_SCALE.value,
                                   train_limit=_TRAIN_LIMIT.value)
    log(f'training {_MODELS.value or "all models"} with {config}, '
        f'TF {tf.__version__}, {os.cpu_count()} CPUs')
    train_lib.train_zoo(_MODELS.value, model_dir, config, _DATA.value,
                        subset_path=SUBSET, log=log)
  return 0


if __name__ == '__main__':
  cli.run(main)
