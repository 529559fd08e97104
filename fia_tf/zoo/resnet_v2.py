"""ResNet V2 (50/101/152) as Keras 3 functional models, exact to TF-slim.

Reproduces slim's ``nets/resnet_v2.py`` (pre-activation ResNet) under
``resnet_arg_scope`` (``is_training=False``). Differences from V1 that
matter for parity:

* ``conv1`` is a plain convolution with bias (no BatchNorm, no ReLU);
* every unit starts with ``preact`` = BatchNorm + ReLU of its input; the
  projection shortcut and ``conv1`` read ``preact``, an identity shortcut
  reads the raw input;
* ``conv3`` and the projection shortcut have biases and no BatchNorm;
* the unit output is the bare sum ``.../bottleneck_v2.add`` (no ReLU);
* after the last block comes ``postnorm`` (BatchNorm + ReLU).

Block layout, ``conv2d_same`` and the stride in the last unit of a block are
as in :mod:`fia_tf.zoo.resnet_v1`. The slim checkpoints have 1001 classes
(class 0 is "background").
"""

import keras

from fia_tf.zoo import layers
from fia_tf.zoo import names
from fia_tf.zoo.resnet_v1 import BATCH_NORM
from fia_tf.zoo.resnet_v1 import BLOCKS
from fia_tf.zoo.resnet_v1 import subsample
from fia_tf.zoo.resnet_v1 import units


def bottleneck(x, depth, depth_bottleneck, stride, scope):
  """slim ``bottleneck`` (v2) in scope ``scope`` (``.../bottleneck_v2``)."""
  depth_in = int(x.shape[-1])
  preact = layers.batch_norm(x, layers.join(scope, 'preact'),
                             activation_fn='relu', **BATCH_NORM)
  if depth == depth_in:
    shortcut = subsample(x, stride, layers.join(scope, 'shortcut'))
  else:
    shortcut = layers.conv2d(preact, depth, 1, layers.join(scope, 'shortcut'),
                             stride=stride, activation_fn=None)
  residual = layers.conv2d(preact, depth_bottleneck, 1,
                           layers.join(scope, 'conv1'), normalizer=BATCH_NORM)
  residual = layers.conv2d_same(residual, depth_bottleneck, 3, stride,
                                layers.join(scope, 'conv2'),
                                normalizer=BATCH_NORM)
  residual = layers.conv2d(residual, depth, 1, layers.join(scope, 'conv3'),
                           activation_fn=None)
  return layers.add([shortcut, residual], scope)


def end_points(scope='resnet_v2_50', depth=None):
  """Maps slim end-point names to Keras layer names.

  ``predictions`` (the softmax) is omitted: the model stops at the logits.

  Args:
    scope: the net's scope, e.g. ``resnet_v2_152``.
    depth: 50, 101 or 152 (default: parsed from ``scope``).

  Returns:
    dict from end-point name to layer name.
  """
  depth = depth or int(scope.rsplit('_', 1)[-1])
  key = names.to_keras
  eps = {f'{scope}/conv1': key(f'{scope}/conv1')}
  for unit, _, _, _ in units(depth):
    unit_scope = f'{scope}/{unit}/bottleneck_v2'
    eps[unit_scope] = key(f'{unit_scope}/add')
    eps[f'{unit_scope}/conv1'] = key(f'{unit_scope}/conv1/Relu')
    eps[f'{unit_scope}/conv2'] = key(f'{unit_scope}/conv2/Relu')
    eps[f'{unit_scope}/conv3'] = key(f'{unit_scope}/conv3')
    if unit.endswith('/unit_1'):
      eps[f'{unit_scope}/shortcut'] = key(f'{unit_scope}/shortcut')
    eps[f'{scope}/{unit.split("/")[0]}'] = key(f'{unit_scope}/add')
  eps[f'{scope}/logits'] = key(f'{scope}/logits')
  return eps


def resnet_v2(depth, num_classes=1001, input_shape=(299, 299, 3), scope=None):
  """Builds slim's ResNet V2 (inference mode).

  Args:
    depth: 50, 101 or 152.
    num_classes: number of logits (1001 for the slim checkpoints).
    input_shape: (height, width, 3) of the input scaled to [-1, 1].
    scope: variable scope / layer prefix (default ``resnet_v2_<depth>``).

  Returns:
    A ``keras.Model`` from ``[B, H, W, 3]`` to ``[B, num_classes]`` logits.
  """
  scope = scope or f'resnet_v2_{depth}'
  inputs = keras.Input(shape=input_shape, name='input')
  x = layers.conv2d_same(inputs, 64, 7, 2, f'{scope}/conv1',
                         activation_fn=None)
  x = layers.max_pool2d(x, 3, f'{scope}/pool1', stride=2, padding='SAME')
  for unit, unit_depth, depth_bottleneck, stride in units(depth):
    x = bottleneck(x, unit_depth, depth_bottleneck, stride,
                   f'{scope}/{unit}/bottleneck_v2')
  # Pre-activation units end on a bare sum, so the trunk needs a final
  # BatchNorm + ReLU.
  x = layers.batch_norm(x, f'{scope}/postnorm', activation_fn='relu',
                        **BATCH_NORM)
  x = layers.reduce_mean_keepdims(x, f'{scope}/pool5')
  x = layers.conv2d(x, num_classes, 1, f'{scope}/logits', activation_fn=None)
  logits = layers.spatial_squeeze(x, f'{scope}/SpatialSqueeze')
  return keras.Model(inputs, logits, name=scope)


def resnet_v2_50(num_classes=1001, input_shape=(299, 299, 3),
                 scope='resnet_v2_50'):
  """slim ``resnet_v2_50``; see :func:`resnet_v2`."""
  return resnet_v2(50, num_classes, input_shape, scope)


def resnet_v2_101(num_classes=1001, input_shape=(299, 299, 3),
                  scope='resnet_v2_101'):
  """slim ``resnet_v2_101``; see :func:`resnet_v2`."""
  return resnet_v2(101, num_classes, input_shape, scope)


def resnet_v2_152(num_classes=1001, input_shape=(299, 299, 3),
                  scope='resnet_v2_152'):
  """slim ``resnet_v2_152``; see :func:`resnet_v2`."""
  return resnet_v2(152, num_classes, input_shape, scope)


END_POINTS = {f'resnet_v2_{d}': end_points(f'resnet_v2_{d}', d)
              for d in BLOCKS}
