"""Adversarial training with fia_tf.AttackLayer on a mini model (``make demo-advtrain``).

Offline: fine-tunes a mini model (committed weights, models/mini) on part of
the committed Fashion-MNIST subset with the attack layer inside
``model.fit`` (MIM, FIA) and inside a ``tf.data`` pipeline, then evaluates
the mini demo's transfer attacks from the other mini models against it
before and after. Writes results/advtrain/: results.md, summary.csv,
table_{changed,wrong,correct}.{md,csv,json}, evaluation.csv,
predictions.npz, summary.json, advtrain.png, examples.png.

  python experiments/demo_advtrain.py
  python experiments/demo_advtrain.py --model=resnet_v1 --epochs=2
  python experiments/demo_advtrain.py --variants=clean,MIM --methods=MIM,FIA
"""

import os
import pathlib

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

from absl import flags  # pylint: disable=g-import-not-at-top,wrong-import-position
import tensorflow as tf

from fia_tf import cli
from fia_tf.data import fashion_mnist
from fia_tf.demos import advtrain

REPO = pathlib.Path(__file__).resolve().parents[1]
_DEFAULT = advtrain.AdvTrainConfig()

_MODEL = flags.DEFINE_string('model', _DEFAULT.model,
                             'The normal mini model fine-tuned.')
_VARIANTS = flags.DEFINE_list(
    'variants', list(_DEFAULT.variants),
    "Fine-tuning variants besides the base model: 'clean', a method (the "
    "attack layer inside model.fit) or 'tfdata:<method>' (the layer in a "
    'tf.data pipeline, against a frozen copy of the base model).')
_SOURCES = flags.DEFINE_list(
    'sources', None, 'Sources of the transfer attacks (default: every other '
    'normal mini model).')
_METHODS = flags.DEFINE_list('methods', list(_DEFAULT.methods),
                             'Methods of the transfer attacks.')
_EPS = flags.DEFINE_float('eps', _DEFAULT.eps,
                          'L-inf budget of the transfer attacks (0..255).')
_TRAIN_EPS = flags.DEFINE_float('train_eps', _DEFAULT.train_eps,
                                'L-inf budget of the training attacks.')
_TRAIN_NUM_ITER = flags.DEFINE_integer(
    'train_num_iter', _DEFAULT.train_num_iter,
    'Iterations of the training attacks.', lower_bound=1)
_EPOCHS = flags.DEFINE_integer('epochs', _DEFAULT.epochs,
                               'Fine-tuning epochs.', lower_bound=1)
_TRAIN_IMAGES = flags.DEFINE_integer(
    'train_images', _DEFAULT.train_images,
    'Subset images fine-tuned on (the first ones).', lower_bound=1)
_EVAL_IMAGES = flags.DEFINE_integer(
    'eval_images', _DEFAULT.eval_images,
    'Subset images evaluated on (the next ones).', lower_bound=1)
_SHARED = cli.flags.define('output_dir', 'seed',
                           output_dir=str(REPO / 'results' / 'advtrain'))


def main(argv):
  cli.flags.start(argv, _SHARED)
  # Every attack is its own tf.function; TF's retracing warning is noise here.
  tf.get_logger().setLevel('ERROR')
  config = advtrain.AdvTrainConfig(
      model=_MODEL.value, variants=tuple(_VARIANTS.value),
      sources=tuple(_SOURCES.value) if _SOURCES.value else None,
      methods=tuple(_METHODS.value), eps=_EPS.value,
      train_eps=_TRAIN_EPS.value, train_num_iter=_TRAIN_NUM_ITER.value,
      epochs=_EPOCHS.value, train_images=_TRAIN_IMAGES.value,
      eval_images=_EVAL_IMAGES.value, seed=_SHARED['seed'].value,
      model_dir=str(REPO / 'models' / 'mini'),
      subset_path=str(REPO / 'data' / 'fashion_mnist' /
                      fashion_mnist.SUBSET_FILE))
  advtrain.run(config, pathlib.Path(_SHARED['output_dir'].value))
  return 0


if __name__ == '__main__':
  cli.run(main)
