"""Inception V3 as a Keras 3 functional model, exact to the TF-slim checkpoint.

Reproduces ``nets/inception_v3.py`` of TF-slim as used by the original FIA
code (``inception_v3`` with ``inception_arg_scope``, ``is_training=False``):
every convolution is bias-free and followed by BatchNorm (``scale=False``,
``epsilon=0.001``) and ReLU, except the final 1x1 logits convolution.

Naming follows :mod:`fia_tf.zoo.names`: the layer of slim scope
``InceptionV3/Mixed_5b/Branch_1/Conv2d_0b_5x5`` is named
``InceptionV3.Mixed_5b.Branch_1.Conv2d_0b_5x5``; its BatchNorm and ReLU are
``<conv>.BatchNorm`` and ``<conv>.Relu``; a block's concatenation is
``<block>.concat``. Loading a slim checkpoint is therefore a pure renaming.

Layers come from :mod:`fia_tf.zoo.layers`. This module also defines
:func:`conv2d_bn`, slim's ``inception_arg_scope`` convolution, which
:mod:`fia_tf.zoo.inception_v4` and :mod:`fia_tf.zoo.inception_resnet_v2`
share (as slim's nets share ``inception_utils``).

Auxiliary head: the checkpoint's ``InceptionV3/AuxLogits/*`` variables do not
influence the logits, so :func:`inception_v3` does not create them; its weights
are the checkpoint minus ``/AuxLogits/``, which
:func:`fia_tf.zoo.checkpoint.load_slim_checkpoint` skips by its default ignore
list. :func:`with_aux_logits` builds the head on top of a built model (sharing
the trunk) when the aux logits or a completeness check are wanted.
"""

import keras
from keras import layers

from fia_tf.zoo import layers as zl
from fia_tf.zoo import names
from fia_tf.zoo.layers import join

# inception_utils.inception_arg_scope's batch norm, as used by the FIA
# checkpoints: no gamma variable (scale=False), epsilon 0.001.
BATCH_NORM = {'epsilon': 0.001, 'scale': False, 'momentum': 0.9997}


def conv2d_bn(x, filters, kernel_size, scope, stride=1, padding='SAME'):
  """``slim.conv2d`` under ``inception_arg_scope``: conv, BatchNorm, ReLU.

  Shared by the three slim Inception builders (slim's v4 and
  Inception-ResNet-v2 use the same arg_scope).

  Args:
    x: NHWC input.
    filters: number of output channels.
    kernel_size: int or (height, width).
    scope: full slim scope of the convolution, e.g.
      ``InceptionV3/Mixed_5b/Branch_0/Conv2d_0a_1x1``.
    stride: convolution stride.
    padding: ``'SAME'`` or ``'VALID'`` (TF semantics, as in slim).

  Returns:
    The output of layer ``<scope>.Relu`` (slim's ``<scope>/Relu``); the
    bias-free convolution is layer ``<scope>`` and its batch norm
    ``<scope>.BatchNorm``.
  """
  return zl.conv2d(x, filters, kernel_size, scope, stride=stride,
                   padding=padding, normalizer=BATCH_NORM)


def _avg_pool_3x3(x, scope):
  """The stride-1 SAME 3x3 average pool of every Inception pool branch.

  TF's SAME average pooling does not count padded cells, and neither does
  Keras' TF backend, so border values match slim.
  """
  return zl.avg_pool2d(x, 3, scope, stride=1, padding='SAME')


def _max_pool_3x3_s2(x, scope):
  """The stride-2 VALID 3x3 max pool of stems and reduction blocks."""
  return zl.max_pool2d(x, 3, scope, stride=2, padding='VALID')


def reduced_kernel_size(x, kernel_size):
  """Clips a kernel to the feature map, as slim's v3 does for small inputs."""
  height, width = x.shape[1], x.shape[2]
  if height is None or width is None:
    return tuple(kernel_size)
  return min(height, kernel_size[0]), min(width, kernel_size[1])


def _block_35(x, scope, pool_filters):
  """Mixed_5b and Mixed_5d: the regular 35x35 block."""
  b0 = conv2d_bn(x, 64, 1, join(scope, 'Branch_0/Conv2d_0a_1x1'))
  b1 = conv2d_bn(x, 48, 1, join(scope, 'Branch_1/Conv2d_0a_1x1'))
  b1 = conv2d_bn(b1, 64, 5, join(scope, 'Branch_1/Conv2d_0b_5x5'))
  b2 = conv2d_bn(x, 64, 1, join(scope, 'Branch_2/Conv2d_0a_1x1'))
  b2 = conv2d_bn(b2, 96, 3, join(scope, 'Branch_2/Conv2d_0b_3x3'))
  b2 = conv2d_bn(b2, 96, 3, join(scope, 'Branch_2/Conv2d_0c_3x3'))
  b3 = _avg_pool_3x3(x, join(scope, 'Branch_3/AvgPool_0a_3x3'))
  b3 = conv2d_bn(b3, pool_filters, 1, join(scope, 'Branch_3/Conv2d_0b_1x1'))
  return zl.concat([b0, b1, b2, b3], scope)


def _block_35_mixed_5c(x, scope):
  """Mixed_5c: same shape as :func:`_block_35` but Branch_1 is named
  ``Conv2d_0b_1x1`` / ``Conv_1_0c_5x5`` in the checkpoint."""
  b0 = conv2d_bn(x, 64, 1, join(scope, 'Branch_0/Conv2d_0a_1x1'))
  b1 = conv2d_bn(x, 48, 1, join(scope, 'Branch_1/Conv2d_0b_1x1'))
  b1 = conv2d_bn(b1, 64, 5, join(scope, 'Branch_1/Conv_1_0c_5x5'))
  b2 = conv2d_bn(x, 64, 1, join(scope, 'Branch_2/Conv2d_0a_1x1'))
  b2 = conv2d_bn(b2, 96, 3, join(scope, 'Branch_2/Conv2d_0b_3x3'))
  b2 = conv2d_bn(b2, 96, 3, join(scope, 'Branch_2/Conv2d_0c_3x3'))
  b3 = _avg_pool_3x3(x, join(scope, 'Branch_3/AvgPool_0a_3x3'))
  b3 = conv2d_bn(b3, 64, 1, join(scope, 'Branch_3/Conv2d_0b_1x1'))
  return zl.concat([b0, b1, b2, b3], scope)


def _reduction_6a(x, scope):
  """Mixed_6a: 35x35 -> 17x17. The 3x3 convs are named ``..._1x1`` in slim."""
  b0 = conv2d_bn(x, 384, 3, join(scope, 'Branch_0/Conv2d_1a_1x1'), stride=2,
                 padding='VALID')
  b1 = conv2d_bn(x, 64, 1, join(scope, 'Branch_1/Conv2d_0a_1x1'))
  b1 = conv2d_bn(b1, 96, 3, join(scope, 'Branch_1/Conv2d_0b_3x3'))
  b1 = conv2d_bn(b1, 96, 3, join(scope, 'Branch_1/Conv2d_1a_1x1'), stride=2,
                 padding='VALID')
  b2 = _max_pool_3x3_s2(x, join(scope, 'Branch_2/MaxPool_1a_3x3'))
  return zl.concat([b0, b1, b2], scope)


def _block_17(x, scope, mid_filters):
  """Mixed_6b..6e: factorised 7x7 block; ``mid_filters`` is 128 or 160/192."""
  b0 = conv2d_bn(x, 192, 1, join(scope, 'Branch_0/Conv2d_0a_1x1'))
  b1 = conv2d_bn(x, mid_filters, 1, join(scope, 'Branch_1/Conv2d_0a_1x1'))
  b1 = conv2d_bn(b1, mid_filters, (1, 7), join(scope, 'Branch_1/Conv2d_0b_1x7'))
  b1 = conv2d_bn(b1, 192, (7, 1), join(scope, 'Branch_1/Conv2d_0c_7x1'))
  b2 = conv2d_bn(x, mid_filters, 1, join(scope, 'Branch_2/Conv2d_0a_1x1'))
  b2 = conv2d_bn(b2, mid_filters, (7, 1), join(scope, 'Branch_2/Conv2d_0b_7x1'))
  b2 = conv2d_bn(b2, mid_filters, (1, 7), join(scope, 'Branch_2/Conv2d_0c_1x7'))
  b2 = conv2d_bn(b2, mid_filters, (7, 1), join(scope, 'Branch_2/Conv2d_0d_7x1'))
  b2 = conv2d_bn(b2, 192, (1, 7), join(scope, 'Branch_2/Conv2d_0e_1x7'))
  b3 = _avg_pool_3x3(x, join(scope, 'Branch_3/AvgPool_0a_3x3'))
  b3 = conv2d_bn(b3, 192, 1, join(scope, 'Branch_3/Conv2d_0b_1x1'))
  return zl.concat([b0, b1, b2, b3], scope)


def _reduction_7a(x, scope):
  """Mixed_7a: 17x17 -> 8x8."""
  b0 = conv2d_bn(x, 192, 1, join(scope, 'Branch_0/Conv2d_0a_1x1'))
  b0 = conv2d_bn(b0, 320, 3, join(scope, 'Branch_0/Conv2d_1a_3x3'), stride=2,
                 padding='VALID')
  b1 = conv2d_bn(x, 192, 1, join(scope, 'Branch_1/Conv2d_0a_1x1'))
  b1 = conv2d_bn(b1, 192, (1, 7), join(scope, 'Branch_1/Conv2d_0b_1x7'))
  b1 = conv2d_bn(b1, 192, (7, 1), join(scope, 'Branch_1/Conv2d_0c_7x1'))
  b1 = conv2d_bn(b1, 192, 3, join(scope, 'Branch_1/Conv2d_1a_3x3'), stride=2,
                 padding='VALID')
  b2 = _max_pool_3x3_s2(x, join(scope, 'Branch_2/MaxPool_1a_3x3'))
  return zl.concat([b0, b1, b2], scope)


def _block_8(x, scope, branch_1_3x1):
  """Mixed_7b and Mixed_7c: expanded-filter-bank block.

  Args:
    x: input tensor.
    scope: block scope.
    branch_1_3x1: name of Branch_1's 3x1 conv; the FIA checkpoint has
      ``Conv2d_0b_3x1`` in Mixed_7b but ``Conv2d_0c_3x1`` in Mixed_7c.
  """
  b0 = conv2d_bn(x, 320, 1, join(scope, 'Branch_0/Conv2d_0a_1x1'))
  b1 = conv2d_bn(x, 384, 1, join(scope, 'Branch_1/Conv2d_0a_1x1'))
  b1 = zl.concat([
      conv2d_bn(b1, 384, (1, 3), join(scope, 'Branch_1/Conv2d_0b_1x3')),
      conv2d_bn(b1, 384, (3, 1), join(scope, 'Branch_1', branch_1_3x1)),
  ], join(scope, 'Branch_1'))
  b2 = conv2d_bn(x, 448, 1, join(scope, 'Branch_2/Conv2d_0a_1x1'))
  b2 = conv2d_bn(b2, 384, 3, join(scope, 'Branch_2/Conv2d_0b_3x3'))
  b2 = zl.concat([
      conv2d_bn(b2, 384, (1, 3), join(scope, 'Branch_2/Conv2d_0c_1x3')),
      conv2d_bn(b2, 384, (3, 1), join(scope, 'Branch_2/Conv2d_0d_3x1')),
  ], join(scope, 'Branch_2'))
  b3 = _avg_pool_3x3(x, join(scope, 'Branch_3/AvgPool_0a_3x3'))
  b3 = conv2d_bn(b3, 192, 1, join(scope, 'Branch_3/Conv2d_0b_1x1'))
  return zl.concat([b0, b1, b2, b3], scope)


def end_points(scope='InceptionV3'):
  """Maps slim end-point names to Keras layer names.

  ``Predictions`` is omitted: it is ``softmax(Logits)`` and the model stops
  at the logits. ``AuxLogits`` lives in the model returned by
  :func:`with_aux_logits`, not in the main model.

  Args:
    scope: the scope the model was built with.

  Returns:
    dict from end-point name (``'Mixed_5b'``, ``'PreLogits'``, ...) to the
    name of the layer whose output is that end point.
  """
  eps = {}
  for ep in ('Conv2d_1a_3x3', 'Conv2d_2a_3x3', 'Conv2d_2b_3x3',
             'Conv2d_3b_1x1', 'Conv2d_4a_3x3'):
    eps[ep] = names.to_keras(join(scope, ep, 'Relu'))
  for ep in ('MaxPool_3a_3x3', 'MaxPool_5a_3x3'):
    eps[ep] = names.to_keras(join(scope, ep))
  for ep in ('Mixed_5b', 'Mixed_5c', 'Mixed_5d', 'Mixed_6a', 'Mixed_6b',
             'Mixed_6c', 'Mixed_6d', 'Mixed_6e', 'Mixed_7a', 'Mixed_7b',
             'Mixed_7c'):
    eps[ep] = names.to_keras(join(scope, ep, 'concat'))
  eps['PreLogits'] = names.to_keras(join(scope, 'Logits/Dropout_1b'))
  eps['Logits'] = names.to_keras(join(scope, 'Logits/SpatialSqueeze'))
  eps['AuxLogits'] = names.to_keras(join(scope, 'AuxLogits/SpatialSqueeze'))
  return eps


END_POINTS = end_points()


def inception_v3(num_classes=1001, input_shape=(299, 299, 3),
                 scope='InceptionV3'):
  """Builds slim's Inception V3 (inference mode) as a Keras model.

  Args:
    num_classes: number of logits (1001 for the slim ImageNet checkpoints,
      class 0 being "background").
    input_shape: (height, width, 3) of the preprocessed input, in [-1, 1].
    scope: the slim variable scope, also the prefix of every layer name and
      the model name.

  Returns:
    A ``keras.Model`` mapping ``[B, H, W, 3]`` input to ``[B, num_classes]``
    logits. Dropout is the identity and BatchNorm uses its moving statistics
    unless the model is called with ``training=True``.
  """
  inputs = keras.Input(shape=input_shape, name='input')
  # 299 x 299 x 3
  x = conv2d_bn(inputs, 32, 3, join(scope, 'Conv2d_1a_3x3'), stride=2,
                padding='VALID')
  # 149 x 149 x 32
  x = conv2d_bn(x, 32, 3, join(scope, 'Conv2d_2a_3x3'), padding='VALID')
  # 147 x 147 x 32
  x = conv2d_bn(x, 64, 3, join(scope, 'Conv2d_2b_3x3'), padding='SAME')
  # 147 x 147 x 64
  x = _max_pool_3x3_s2(x, join(scope, 'MaxPool_3a_3x3'))
  # 73 x 73 x 64
  x = conv2d_bn(x, 80, 1, join(scope, 'Conv2d_3b_1x1'), padding='VALID')
  # 73 x 73 x 80
  x = conv2d_bn(x, 192, 3, join(scope, 'Conv2d_4a_3x3'), padding='VALID')
  # 71 x 71 x 192
  x = _max_pool_3x3_s2(x, join(scope, 'MaxPool_5a_3x3'))
  # 35 x 35 x 192
  x = _block_35(x, join(scope, 'Mixed_5b'), pool_filters=32)
  # 35 x 35 x 256
  x = _block_35_mixed_5c(x, join(scope, 'Mixed_5c'))
  # 35 x 35 x 288
  x = _block_35(x, join(scope, 'Mixed_5d'), pool_filters=64)
  # 35 x 35 x 288
  x = _reduction_6a(x, join(scope, 'Mixed_6a'))
  # 17 x 17 x 768
  x = _block_17(x, join(scope, 'Mixed_6b'), mid_filters=128)
  x = _block_17(x, join(scope, 'Mixed_6c'), mid_filters=160)
  x = _block_17(x, join(scope, 'Mixed_6d'), mid_filters=160)
  x = _block_17(x, join(scope, 'Mixed_6e'), mid_filters=192)
  # 17 x 17 x 768
  x = _reduction_7a(x, join(scope, 'Mixed_7a'))
  # 8 x 8 x 1280
  x = _block_8(x, join(scope, 'Mixed_7b'), branch_1_3x1='Conv2d_0b_3x1')
  # 8 x 8 x 2048
  x = _block_8(x, join(scope, 'Mixed_7c'), branch_1_3x1='Conv2d_0c_3x1')
  # 8 x 8 x 2048

  kernel = reduced_kernel_size(x, (8, 8))
  x = zl.avg_pool2d(x, kernel,
                    join(scope, 'Logits/AvgPool_1a_{}x{}'.format(*kernel)),
                    stride=1, padding='VALID')
  # 1 x 1 x 2048; slim's keep_prob=0.8 is rate=0.2, inactive at inference.
  x = layers.Dropout(
      0.2, name=names.to_keras(join(scope, 'Logits/Dropout_1b')))(x)
  x = zl.conv2d(x, num_classes, 1, join(scope, 'Logits/Conv2d_1c_1x1'),
                activation_fn=None)
  logits = zl.spatial_squeeze(x, join(scope, 'Logits/SpatialSqueeze'))
  return keras.Model(inputs, logits, name=scope)


def with_aux_logits(model, scope=None):
  """Adds slim's auxiliary classifier head to a model from :func:`inception_v3`.

  The head's layers are new and read ``Mixed_6e``; the trunk is shared with
  ``model`` (no copy, same weights).

  Args:
    model: a model built by :func:`inception_v3`.
    scope: its scope (default: ``model.name``).

  Returns:
    A ``keras.Model`` from ``model``'s input to ``[logits, aux_logits]``,
    both ``[B, num_classes]`` (slim's ``Logits`` and ``AuxLogits`` end
    points). It uses every checkpoint variable, so
    ``load_slim_checkpoint(aux_model, path, ignore=())`` checks that a
    checkpoint is complete and loads the head.
  """
  scope = scope or model.name
  num_classes = int(model.outputs[0].shape[-1])
  x = model.get_layer(names.to_keras(join(scope, 'Mixed_6e/concat'))).output
  head = join(scope, 'AuxLogits')
  # 17 x 17 x 768
  x = zl.avg_pool2d(x, 5, join(head, 'AvgPool_1a_5x5'), stride=3,
                    padding='VALID')
  # 5 x 5 x 768
  x = conv2d_bn(x, 128, 1, join(head, 'Conv2d_1b_1x1'))
  kernel = reduced_kernel_size(x, (5, 5))
  x = conv2d_bn(x, 768, kernel, join(head, 'Conv2d_2a_{}x{}'.format(*kernel)),
                padding='VALID')
  # 1 x 1 x 768
  x = zl.conv2d(x, num_classes, 1, join(head, 'Conv2d_2b_1x1'),
                activation_fn=None)
  x = zl.spatial_squeeze(x, join(head, 'SpatialSqueeze'))
  return keras.Model(model.inputs, [model.outputs[0], x],
                     name=names.to_keras(head))
