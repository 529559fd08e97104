"""Attack speed against its roofline (not a test; prints JSON lines).

For a ``keras.applications`` model with random weights, measures seconds per
image of FIA (N masked copies, T iterations) and MIM, and in the same process
the roofline of FIA: ``B*N`` x (full forward + backward to the feature layer)
+ ``T`` x (forward to the layer + backward to the input), each timed alone as
a compiled function at the batch sizes the attack uses.

  python experiments/bench_engine.py --model=resnet50 --batch=4
"""

import json
import os
import platform
import time

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

from absl import app  # pylint: disable=g-import-not-at-top
from absl import flags
import keras
import numpy as np
import tensorflow as tf

import fia_tf

MODELS = {
    # name: (builder, FIA layer: a mid-level block output, like the paper's)
    'resnet50': (keras.applications.ResNet50, 'conv3_block4_out'),
    'vgg16': (keras.applications.VGG16, 'block3_conv3'),
}

_MODEL = flags.DEFINE_enum('model', 'resnet50', list(MODELS), 'Source model.')
_BATCH = flags.DEFINE_integer('batch', 4, 'Images per batch.')
_ENS = flags.DEFINE_integer('ens', 30, 'FIA masked copies N.')
_ITERS = flags.DEFINE_integer('num_iter', 10, 'Iterations T.')
_REPEATS = flags.DEFINE_integer('repeats', 3, 'Timed repeats (best is kept).')
_XLA = flags.DEFINE_multi_enum('xla', ['off'], ['off', 'on'],
                               'jit_compile settings to measure.')
_MASK_BATCH = flags.DEFINE_integer('mask_batch', None,
                                   'Copies per pass (default: automatic).')


def best_time(fn, repeats):
  fn()  # trace / compile / warm up
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    out = fn()
    tf.nest.map_structure(lambda t: t.numpy(), out)
    times.append(time.perf_counter() - start)
  return min(times)


def measure(source, images, labels, jit, repeats, ens, num_iter, mask_batch):
  batch = len(images)
  fia = fia_tf.Attack(source, fia_tf.AttackConfig(
      method='FIA', ens=ens, num_iter=num_iter, jit_compile=jit,
      mask_batch=mask_batch))
  mim = fia_tf.Attack(source, fia_tf.AttackConfig(
      method='MIM', num_iter=num_iter, jit_compile=jit))
  ids = np.arange(batch)
  t_fia = best_time(lambda: fia(images, labels, ids), repeats)
  t_mim = best_time(lambda: mim(images, labels, ids), repeats)

  # Roofline pieces, compiled the same way, at the attack's pass sizes.
  total = batch * ens
  passes = -(-total // fia.mask_batch)
  per_pass = -(-total // passes)
  both, prefix = fia.features_and_logits, fia.feature_model
  onehot = tf.one_hot(np.resize(labels, per_pass), source.num_classes)

  @tf.function(jit_compile=jit)
  def full_pass(x):
    with tf.GradientTape() as tape:
      tape.watch(x)
      feats, logits = both(x, training=False)
      target = tf.reduce_sum(logits * onehot)
    return tape.gradient(target, feats)

  @tf.function(jit_compile=jit)
  def prefix_pass(x):
    with tf.GradientTape() as tape:
      tape.watch(x)
      target = tf.reduce_sum(prefix(x, training=False))
    return tape.gradient(target, x)

  x_pass = tf.constant(source.preprocess(np.resize(images, (per_pass,) +
                                                   images.shape[1:])))
  x_batch = tf.constant(source.preprocess(images))
  t_full = best_time(lambda: full_pass(x_pass), repeats)
  t_prefix = best_time(lambda: prefix_pass(x_batch), repeats)
  # Per copy, so padding copies of the last pass count against the attack.
  roofline = total * t_full / per_pass + num_iter * t_prefix
  return {
      'xla': jit, 'batch': batch, 'ens': ens, 'num_iter': num_iter,
      'mask_batch': fia.mask_batch, 'passes': passes, 'copies_per_pass':
      per_pass, 'fia_s_per_image': t_fia / batch,
      'mim_s_per_image': t_mim / batch,
      'roofline_s_per_image': roofline / batch,
      'fia_over_roofline': t_fia / roofline,
      'full_pass_s': t_full, 'prefix_pass_s': t_prefix,
  }


def main(argv):
  del argv
  builder, layer = MODELS[_MODEL.value]
  model = builder(weights=None, classifier_activation=None)
  source = fia_tf.SourceModel(model, fia_tf.preprocessing.vgg, layer,
                              name=_MODEL.value)
  rs = np.random.RandomState(0)
  size = source.input_size[0]
  images = rs.uniform(0, 255, (_BATCH.value, size, size, 3)).astype(np.float32)
  labels = rs.randint(0, 1000, _BATCH.value)
  for setting in _XLA.value:
    result = measure(source, images, labels, setting == 'on', _REPEATS.value,
                     _ENS.value, _ITERS.value, _MASK_BATCH.value)
    result.update(model=_MODEL.value, layer=layer, tf=tf.__version__,
                  cpu=platform.processor() or platform.machine(),
                  cores=os.cpu_count())
    print(json.dumps(result), flush=True)


if __name__ == '__main__':
  app.run(main)
