"""VGG 16 and VGG 19 as Keras 3 functional models, exact to TF-slim.

Reproduces slim's ``nets/vgg.py`` (``vgg_16`` / ``vgg_19`` under
``vgg_arg_scope``, ``is_training=False``): 3x3 'SAME' convolutions with bias
and ReLU, 2x2/2 'VALID' max pooling, and the fully connected layers as
convolutions (``fc6`` 7x7 'VALID', ``fc7`` and ``fc8`` 1x1), followed by a
spatial squeeze. The checkpoints have 1000 classes (no background class).

Layer names follow :mod:`fia_tf.zoo.layers`: the conv of scope
``vgg_16/conv3/conv3_3`` is layer ``vgg_16.conv3.conv3_3`` and its ReLU is
``vgg_16.conv3.conv3_3.Relu`` (slim op ``vgg_16/conv3/conv3_3/Relu``).
"""

import keras
from keras import layers as keras_layers

from fia_tf.zoo import layers
from fia_tf.zoo import names

# Number of 3x3 convolutions in each of the five conv groups.
_REPEATS = {
    'vgg_16': (2, 2, 3, 3, 3),
    'vgg_19': (2, 2, 4, 4, 4),
}
_FILTERS = (64, 128, 256, 512, 512)


def end_points(scope='vgg_16'):
  """Maps slim end-point names to Keras layer names.

  Args:
    scope: ``'vgg_16'`` or ``'vgg_19'`` (the model's scope).

  Returns:
    dict from end-point name (e.g. ``vgg_16/conv3/conv3_3``, ``vgg_16/fc8``)
    to the name of the layer whose output is that end point.
  """
  eps = {}
  for group, repeats in enumerate(_REPEATS[_kind(scope)], start=1):
    for i in range(1, repeats + 1):
      conv = f'{scope}/conv{group}/conv{group}_{i}'
      eps[conv] = names.to_keras(layers.join(conv, 'Relu'))
    pool = f'{scope}/pool{group}'
    eps[pool] = names.to_keras(pool)
  eps[f'{scope}/fc6'] = names.to_keras(f'{scope}/fc6/Relu')
  eps[f'{scope}/fc7'] = names.to_keras(f'{scope}/fc7/Relu')
  # slim replaces the fc8 end point by the squeezed logits.
  eps[f'{scope}/fc8'] = names.to_keras(f'{scope}/fc8/squeezed')
  return eps


def _kind(scope):
  for kind in _REPEATS:
    if scope.startswith(kind):
      return kind
  raise ValueError(f'cannot tell the VGG depth from scope {scope!r}; '
                   f'expected one of {sorted(_REPEATS)}')


def vgg(kind, num_classes=1000, input_shape=(224, 224, 3), scope=None):
  """Builds slim's VGG (inference mode).

  Args:
    kind: ``'vgg_16'`` or ``'vgg_19'``.
    num_classes: number of logits (1000 for the slim checkpoints).
    input_shape: (height, width, 3) of the mean-subtracted RGB input. The
      'VALID' 7x7 ``fc6`` requires a 7x7 ``pool5``, i.e. a 224x224 input,
      for the logits to squeeze to ``[B, num_classes]``.
    scope: variable scope and layer-name prefix (default: ``kind``).

  Returns:
    A ``keras.Model`` from ``[B, H, W, 3]`` to ``[B, num_classes]`` logits.
  """
  if kind not in _REPEATS:
    raise ValueError(f'unknown VGG {kind!r}; expected one of '
                     f'{sorted(_REPEATS)}')
  scope = scope or kind
  inputs = keras.Input(shape=input_shape, name='input')
  x = inputs
  for group, (repeats, filters) in enumerate(zip(_REPEATS[kind], _FILTERS),
                                             start=1):
    for i in range(1, repeats + 1):
      x = layers.conv2d(x, filters, 3, f'{scope}/conv{group}/conv{group}_{i}')
    x = layers.max_pool2d(x, 2, f'{scope}/pool{group}', stride=2,
                          padding='VALID')
  x = layers.conv2d(x, 4096, 7, f'{scope}/fc6', padding='VALID')
  # slim.dropout is the identity at inference; kept so the op names exist.
  x = keras_layers.Dropout(0.5, name=names.to_keras(f'{scope}/dropout6'))(x)
  x = layers.conv2d(x, 4096, 1, f'{scope}/fc7')
  x = keras_layers.Dropout(0.5, name=names.to_keras(f'{scope}/dropout7'))(x)
  x = layers.conv2d(x, num_classes, 1, f'{scope}/fc8', activation_fn=None)
  logits = layers.spatial_squeeze(x, f'{scope}/fc8/squeezed')
  return keras.Model(inputs, logits, name=scope)


def vgg_16(num_classes=1000, input_shape=(224, 224, 3), scope='vgg_16'):
  """slim ``vgg_16``; see :func:`vgg`."""
  return vgg('vgg_16', num_classes, input_shape, scope)


def vgg_19(num_classes=1000, input_shape=(224, 224, 3), scope='vgg_19'):
  """slim ``vgg_19``; see :func:`vgg`."""
  return vgg('vgg_19', num_classes, input_shape, scope)


END_POINTS = {'vgg_16': end_points('vgg_16'), 'vgg_19': end_points('vgg_19')}
