"""Trains the mini zoo on Fashion-MNIST (``make train-mini``).

Writes models/mini/<name>.weights.h5, accuracy.json, train_log.json and
train_log.txt. Seeded and run with deterministic ops, so a rerun on the same
machine reproduces the weights.

  python experiments/train_mini.py                       # the whole zoo
  python experiments/train_mini.py --models=vgg,resnet_v1
  python experiments/train_mini.py --make_subset         # rewrite the subset
"""

import os
import pathlib
import sys
import time

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from absl import app  # pylint: disable=g-import-not-at-top
from absl import flags
import tensorflow as tf

from fia_tf.mini import data as data_lib
from fia_tf.mini import models as zoo
from fia_tf.mini import train as train_lib

_MODELS = flags.DEFINE_list('models', None,
                            'Models to train (default: the whole zoo).')
_MODEL_DIR = flags.DEFINE_string('model_dir', str(zoo.MODEL_DIR),
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
    images, labels, _ = data_lib.load('test', _DATA.value)
    data_lib.save_subset(images, labels, data_lib.make_subset(labels))
    print(f'wrote {data_lib.SUBSET_PATH}')
    return
  model_dir = pathlib.Path(_MODEL_DIR.value)
  model_dir.mkdir(parents=True, exist_ok=True)
  log_file = open(model_dir / 'train_log.txt', 'a')

  def log(line):
    line = f'[{time.strftime("%H:%M:%S")}] {line}'
    print(line, flush=True)
    log_file.write(line + '\n')
    log_file.flush()

  config = train_lib.TrainConfig(epochs_scale=_EPOCHS_SCALE.value,
                                 train_limit=_TRAIN_LIMIT.value)
  log(f'training {_MODELS.value or "all models"} with {config}, '
      f'TF {tf.__version__}, {os.cpu_count()} CPUs')
  try:
    train_lib.train_zoo(_MODELS.value, model_dir, config, _DATA.value, log)
  except data_lib.DataNotFoundError as e:
    log(str(e))
    sys.exit(1)
  finally:
    log_file.close()


if __name__ == '__main__':
  app.run(main)
