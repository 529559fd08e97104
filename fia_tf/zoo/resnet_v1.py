"""ResNet V1 (50/101/152) as Keras 3 functional models, exact to TF-slim.

Reproduces slim's ``nets/resnet_v1.py`` under ``resnet_arg_scope``
(``is_training=False``): every convolution is bias-free and followed by
BatchNorm (``scale=True``, ``epsilon=1e-5``) and, except ``conv3`` and the
projection shortcut, ReLU. Details that matter for parity:

* the stride of a block sits in its *last* unit (slim's ``resnet_v1_block``),
  in ``conv2`` of the bottleneck;
* strided 3x3/7x7 convolutions use ``conv2d_same`` (explicit symmetric
  padding, then 'VALID'), not TF 'SAME';
* ``pool1`` is a 3x3/2 'SAME' max pool (the arg_scope sets 'SAME');
* an identity shortcut of a strided unit is a 1x1/2 max pool named
  ``.../bottleneck_v1/shortcut``;
* the unit output is ``Relu(shortcut + residual)``: layers
  ``.../bottleneck_v1.add`` and ``.../bottleneck_v1.Relu``.

The slim checkpoints have 1000 classes (no background class).
"""

import keras

from fia_tf.zoo import layers
from fia_tf.zoo import names

# resnet_arg_scope defaults.
BATCH_NORM = {'epsilon': 1e-5, 'scale': True, 'momentum': 0.997}

# (block scope, base depth, number of units, stride of the last unit).
BLOCKS = {
    50: (('block1', 64, 3, 2), ('block2', 128, 4, 2), ('block3', 256, 6, 2),
         ('block4', 512, 3, 1)),
    101: (('block1', 64, 3, 2), ('block2', 128, 4, 2), ('block3', 256, 23, 2),
          ('block4', 512, 3, 1)),
    152: (('block1', 64, 3, 2), ('block2', 128, 8, 2), ('block3', 256, 36, 2),
          ('block4', 512, 3, 1)),
}


def units(depth):
  """Yields ``(unit scope relative to the net, depth, bottleneck depth,
  stride)`` for every unit of a ResNet of the given depth (50/101/152)."""
  if depth not in BLOCKS:
    raise ValueError(f'unknown ResNet depth {depth}; expected one of '
                     f'{sorted(BLOCKS)}')
  for block, base, num_units, stride in BLOCKS[depth]:
    for i in range(1, num_units + 1):
      yield (f'{block}/unit_{i}', base * 4, base,
             stride if i == num_units else 1)


def subsample(x, factor, scope):
  """``resnet_utils.subsample``: identity or a 1x1 max pool with stride."""
  if factor == 1:
    return x
  return layers.max_pool2d(x, 1, scope, stride=factor, padding='SAME')


def bottleneck(x, depth, depth_bottleneck, stride, scope):
  """slim ``bottleneck`` (v1) in scope ``scope`` (``.../bottleneck_v1``)."""
  depth_in = int(x.shape[-1])
  if depth == depth_in:
    shortcut = subsample(x, stride, layers.join(scope, 'shortcut'))
  else:
    shortcut = layers.conv2d(x, depth, 1, layers.join(scope, 'shortcut'),
                             stride=stride, activation_fn=None,
                             normalizer=BATCH_NORM)
  residual = layers.conv2d(x, depth_bottleneck, 1,
                           layers.join(scope, 'conv1'), normalizer=BATCH_NORM)
  residual = layers.conv2d_same(residual, depth_bottleneck, 3, stride,
                                layers.join(scope, 'conv2'),
                                normalizer=BATCH_NORM)
  residual = layers.conv2d(residual, depth, 1, layers.join(scope, 'conv3'),
                           activation_fn=None, normalizer=BATCH_NORM)
  output = layers.add([shortcut, residual], scope)
  return layers.activation(output, scope)


def end_points(scope='resnet_v1_50', depth=None):
  """Maps slim end-point names to Keras layer names.

  ``predictions`` (the softmax) is omitted: the model stops at the logits.

  Args:
    scope: the net's scope, e.g. ``resnet_v1_152``.
    depth: 50, 101 or 152 (default: parsed from ``scope``).

  Returns:
    dict from end-point name (``resnet_v1_50/block2``,
    ``resnet_v1_50/block2/unit_1/bottleneck_v1/conv3``, ...) to layer name.
  """
  depth = depth or int(scope.rsplit('_', 1)[-1])
  key = names.to_keras
  eps = {f'{scope}/conv1': key(f'{scope}/conv1/Relu')}
  for unit, unit_depth, _, _ in units(depth):
    unit_scope = f'{scope}/{unit}/bottleneck_v1'
    eps[unit_scope] = key(f'{unit_scope}/Relu')
    eps[f'{unit_scope}/conv1'] = key(f'{unit_scope}/conv1/Relu')
    eps[f'{unit_scope}/conv2'] = key(f'{unit_scope}/conv2/Relu')
    eps[f'{unit_scope}/conv3'] = key(f'{unit_scope}/conv3/BatchNorm')
    if unit.endswith('/unit_1'):
      # Only the first unit of a block changes depth (projection shortcut).
      eps[f'{unit_scope}/shortcut'] = key(f'{unit_scope}/shortcut/BatchNorm')
    # A block's end point is its last unit's output; later units overwrite.
    eps[f'{scope}/{unit.split("/")[0]}'] = key(f'{unit_scope}/Relu')
  eps[f'{scope}/logits'] = key(f'{scope}/logits')
  return eps


def resnet_v1(depth, num_classes=1000, input_shape=(224, 224, 3), scope=None):
  """Builds slim's ResNet V1 (inference mode).

  Args:
    depth: 50, 101 or 152.
    num_classes: number of logits (1000 for the slim checkpoints).
    input_shape: (height, width, 3) of the mean-subtracted RGB input.
    scope: variable scope / layer prefix (default ``resnet_v1_<depth>``).

  Returns:
    A ``keras.Model`` from ``[B, H, W, 3]`` to ``[B, num_classes]`` logits.
  """
  scope = scope or f'resnet_v1_{depth}'
  unit_list = list(units(depth))
  inputs = keras.Input(shape=input_shape, name='input')
  x = layers.conv2d_same(inputs, 64, 7, 2, f'{scope}/conv1',
                         normalizer=BATCH_NORM)
  x = layers.max_pool2d(x, 3, f'{scope}/pool1', stride=2, padding='SAME')
  for unit, unit_depth, depth_bottleneck, stride in unit_list:
    x = bottleneck(x, unit_depth, depth_bottleneck, stride,
                   f'{scope}/{unit}/bottleneck_v1')
  x = layers.reduce_mean_keepdims(x, f'{scope}/pool5')
  x = layers.conv2d(x, num_classes, 1, f'{scope}/logits', activation_fn=None)
  logits = layers.spatial_squeeze(x, f'{scope}/SpatialSqueeze')
  return keras.Model(inputs, logits, name=scope)


def resnet_v1_50(num_classes=1000, input_shape=(224, 224, 3),
                 scope='resnet_v1_50'):
  """slim ``resnet_v1_50``; see :func:`resnet_v1`."""
  return resnet_v1(50, num_classes, input_shape, scope)


def resnet_v1_101(num_classes=1000, input_shape=(224, 224, 3),
                  scope='resnet_v1_101'):
  """slim ``resnet_v1_101``; see :func:`resnet_v1`."""
  return resnet_v1(101, num_classes, input_shape, scope)


def resnet_v1_152(num_classes=1000, input_shape=(224, 224, 3),
                  scope='resnet_v1_152'):
  """slim ``resnet_v1_152``; see :func:`resnet_v1`."""
  return resnet_v1(152, num_classes, input_shape, scope)


END_POINTS = {f'resnet_v1_{d}': end_points(f'resnet_v1_{d}', d)
              for d in BLOCKS}
