"""Inception-ResNet-v2 as a Keras 3 model, exact to the TF-slim checkpoint.

Reproduces ``nets/inception_resnet_v2.py`` as shipped with the original FIA
code (``inception_resnet_v2`` under ``inception_resnet_v2_arg_scope``,
``is_training=False``, ``output_stride=16``, ``align_feature_maps=False``):
convolutions are bias-free + BatchNorm (``scale=False``, ``epsilon=0.001``) +
ReLU, except the residual up-projections ``<block>/Conv2d_1x1``, which are
plain convolutions with bias.

Residual blocks keep slim's ``slim.repeat`` scopes: ``Repeat/block35_1..10``
(scale 0.17), ``Repeat_1/block17_1..20`` (scale 0.10), ``Repeat_2/block8_1..9``
(scale 0.20) and the last ``Block8`` (scale 1.0, no activation). Inside a
block the layers are ``<block>.concat``, ``<block>.Conv2d_1x1``,
``<block>.mul`` (``scale * up``), ``<block>.add`` (``net + scale * up``) and
``<block>.Relu``, after slim's op names.

Layer names follow :mod:`fia_tf.zoo.names`. Layers come from
:mod:`fia_tf.zoo.layers`; :func:`fia_tf.zoo.inception_v3.conv2d_bn` is the
arg_scope convolution (same batch norm settings as ``inception_arg_scope``).

Auxiliary head: the checkpoint's ``InceptionResnetV2/AuxLogits/*`` variables do
not influence the logits, so :func:`inception_resnet_v2` does not create them;
its weights are the checkpoint minus ``/AuxLogits/``, which
:func:`fia_tf.zoo.checkpoint.load_slim_checkpoint` skips by its default ignore
list. :func:`with_aux_logits` builds the head on top of a built model (sharing
the trunk) when the aux logits or a completeness check are wanted.
"""

import keras
from keras import layers

from fia_tf.zoo import layers as zl
from fia_tf.zoo import names
from fia_tf.zoo.inception_v3 import conv2d_bn
from fia_tf.zoo.layers import join


def _max_pool_3x3_s2(x, scope):
  """The stride-2 VALID 3x3 max pool of the stem and reduction blocks."""
  return zl.max_pool2d(x, 3, scope, stride=2, padding='VALID')


# (repeat scope, block name, count, residual scale) of the three block stacks.
_BLOCK35 = ('Repeat', 'block35', 10, 0.17)
_BLOCK17 = ('Repeat_1', 'block17', 20, 0.10)
_BLOCK8 = ('Repeat_2', 'block8', 9, 0.20)


def _residual(x, mixed, scope, scale, activation):
  """The tail shared by all residual blocks: ``act(x + scale * W mixed)``."""
  up = zl.conv2d(mixed, x.shape[-1], 1, join(scope, 'Conv2d_1x1'),
                 activation_fn=None)
  # Rescaling computes up * scale + 0.0: slim's float32 scale * up (up to
  # the sign of zero), as a layer named after slim's 'mul' op.
  up = layers.Rescaling(scale, name=names.to_keras(join(scope, 'mul')))(up)
  x = zl.add([x, up], scope)
  if activation:
    x = zl.activation(x, scope)
  return x


def _block35(x, scope, scale, activation=True):
  """35 x 35 x 320 residual block."""
  b0 = conv2d_bn(x, 32, 1, join(scope, 'Branch_0/Conv2d_1x1'))
  b1 = conv2d_bn(x, 32, 1, join(scope, 'Branch_1/Conv2d_0a_1x1'))
  b1 = conv2d_bn(b1, 32, 3, join(scope, 'Branch_1/Conv2d_0b_3x3'))
  b2 = conv2d_bn(x, 32, 1, join(scope, 'Branch_2/Conv2d_0a_1x1'))
  b2 = conv2d_bn(b2, 48, 3, join(scope, 'Branch_2/Conv2d_0b_3x3'))
  b2 = conv2d_bn(b2, 64, 3, join(scope, 'Branch_2/Conv2d_0c_3x3'))
  mixed = zl.concat([b0, b1, b2], scope)
  return _residual(x, mixed, scope, scale, activation)


def _block17(x, scope, scale, activation=True):
  """17 x 17 x 1088 residual block."""
  b0 = conv2d_bn(x, 192, 1, join(scope, 'Branch_0/Conv2d_1x1'))
  b1 = conv2d_bn(x, 128, 1, join(scope, 'Branch_1/Conv2d_0a_1x1'))
  b1 = conv2d_bn(b1, 160, (1, 7), join(scope, 'Branch_1/Conv2d_0b_1x7'))
  b1 = conv2d_bn(b1, 192, (7, 1), join(scope, 'Branch_1/Conv2d_0c_7x1'))
  mixed = zl.concat([b0, b1], scope)
  return _residual(x, mixed, scope, scale, activation)


def _block8(x, scope, scale, activation=True):
  """8 x 8 x 2080 residual block."""
  b0 = conv2d_bn(x, 192, 1, join(scope, 'Branch_0/Conv2d_1x1'))
  b1 = conv2d_bn(x, 192, 1, join(scope, 'Branch_1/Conv2d_0a_1x1'))
  b1 = conv2d_bn(b1, 224, (1, 3), join(scope, 'Branch_1/Conv2d_0b_1x3'))
  b1 = conv2d_bn(b1, 256, (3, 1), join(scope, 'Branch_1/Conv2d_0c_3x1'))
  mixed = zl.concat([b0, b1], scope)
  return _residual(x, mixed, scope, scale, activation)


def _repeat(x, block_fn, scope, spec):
  """``slim.repeat``: scopes ``<repeat>/<block>_1`` ... ``<block>_<count>``."""
  repeat_scope, block_name, count, scale = spec
  for i in range(1, count + 1):
    x = block_fn(x, join(scope, repeat_scope, f'{block_name}_{i}'), scale)
  return x


def end_points(scope='InceptionResnetV2'):
  """Maps slim end-point names to Keras layer names.

  ``Predictions`` (the softmax of ``Logits``) is not a layer. ``AuxLogits``
  lives in the model returned by :func:`with_aux_logits`.

  Args:
    scope: the scope the model was built with.

  Returns:
    dict from end-point name to the name of the layer producing it.
  """
  eps = {}
  for ep in ('Conv2d_1a_3x3', 'Conv2d_2a_3x3', 'Conv2d_2b_3x3',
             'Conv2d_3b_1x1', 'Conv2d_4a_3x3', 'Conv2d_7b_1x1'):
    eps[ep] = names.to_keras(join(scope, ep, 'Relu'))
  for ep in ('MaxPool_3a_3x3', 'MaxPool_5a_3x3'):
    eps[ep] = names.to_keras(join(scope, ep))
  for ep in ('Mixed_5b', 'Mixed_6a', 'Mixed_7a'):
    eps[ep] = names.to_keras(join(scope, ep, 'concat'))
  repeat_scope, block_name, count, _ = _BLOCK17
  eps['PreAuxLogits'] = names.to_keras(
      join(scope, repeat_scope, f'{block_name}_{count}', 'Relu'))
  eps['PreLogitsFlatten'] = names.to_keras(join(scope, 'Logits/Dropout'))
  eps['Logits'] = names.to_keras(join(scope, 'Logits/Logits'))
  eps['AuxLogits'] = names.to_keras(join(scope, 'AuxLogits/Logits'))
  return eps


END_POINTS = end_points()


def inception_resnet_v2(num_classes=1001, input_shape=(299, 299, 3),
                        scope='InceptionResnetV2'):
  """Builds slim's Inception-ResNet-v2 (inference mode) as a Keras model.

  Args:
    num_classes: number of logits (1001 for the slim checkpoints).
    input_shape: (height, width, 3) of the preprocessed input, in [-1, 1].
    scope: the slim variable scope, also the layer-name prefix and the model
      name.

  Returns:
    A ``keras.Model`` mapping ``[B, H, W, 3]`` input to ``[B, num_classes]``
    logits. Dropout is the identity and BatchNorm uses its moving statistics
    unless called with ``training=True``.
  """
  inputs = keras.Input(shape=input_shape, name='input')
  # 299 x 299 x 3
  x = conv2d_bn(inputs, 32, 3, join(scope, 'Conv2d_1a_3x3'), stride=2,
                padding='VALID')
  # 149 x 149 x 32
  x = conv2d_bn(x, 32, 3, join(scope, 'Conv2d_2a_3x3'), padding='VALID')
  # 147 x 147 x 32
  x = conv2d_bn(x, 64, 3, join(scope, 'Conv2d_2b_3x3'))
  # 147 x 147 x 64
  x = _max_pool_3x3_s2(x, join(scope, 'MaxPool_3a_3x3'))
  # 73 x 73 x 64
  x = conv2d_bn(x, 80, 1, join(scope, 'Conv2d_3b_1x1'), padding='VALID')
  # 73 x 73 x 80
  x = conv2d_bn(x, 192, 3, join(scope, 'Conv2d_4a_3x3'), padding='VALID')
  # 71 x 71 x 192
  x = _max_pool_3x3_s2(x, join(scope, 'MaxPool_5a_3x3'))
  # 35 x 35 x 192
  block = join(scope, 'Mixed_5b')
  b0 = conv2d_bn(x, 96, 1, join(block, 'Branch_0/Conv2d_1x1'))
  b1 = conv2d_bn(x, 48, 1, join(block, 'Branch_1/Conv2d_0a_1x1'))
  b1 = conv2d_bn(b1, 64, 5, join(block, 'Branch_1/Conv2d_0b_5x5'))
  b2 = conv2d_bn(x, 64, 1, join(block, 'Branch_2/Conv2d_0a_1x1'))
  b2 = conv2d_bn(b2, 96, 3, join(block, 'Branch_2/Conv2d_0b_3x3'))
  b2 = conv2d_bn(b2, 96, 3, join(block, 'Branch_2/Conv2d_0c_3x3'))
  b3 = zl.avg_pool2d(x, 3, join(block, 'Branch_3/AvgPool_0a_3x3'), stride=1,
                     padding='SAME')
  b3 = conv2d_bn(b3, 64, 1, join(block, 'Branch_3/Conv2d_0b_1x1'))
  x = zl.concat([b0, b1, b2, b3], block)
  # 35 x 35 x 320
  x = _repeat(x, _block35, scope, _BLOCK35)
  # 35 x 35 x 320
  block = join(scope, 'Mixed_6a')
  b0 = conv2d_bn(x, 384, 3, join(block, 'Branch_0/Conv2d_1a_3x3'), stride=2,
                 padding='VALID')
  b1 = conv2d_bn(x, 256, 1, join(block, 'Branch_1/Conv2d_0a_1x1'))
  b1 = conv2d_bn(b1, 256, 3, join(block, 'Branch_1/Conv2d_0b_3x3'))
  b1 = conv2d_bn(b1, 384, 3, join(block, 'Branch_1/Conv2d_1a_3x3'), stride=2,
                 padding='VALID')
  b2 = _max_pool_3x3_s2(x, join(block, 'Branch_2/MaxPool_1a_3x3'))
  x = zl.concat([b0, b1, b2], block)
  # 17 x 17 x 1088
  x = _repeat(x, _block17, scope, _BLOCK17)
  # 17 x 17 x 1088 (PreAuxLogits)
  block = join(scope, 'Mixed_7a')
  b0 = conv2d_bn(x, 256, 1, join(block, 'Branch_0/Conv2d_0a_1x1'))
  b0 = conv2d_bn(b0, 384, 3, join(block, 'Branch_0/Conv2d_1a_3x3'), stride=2,
                 padding='VALID')
  b1 = conv2d_bn(x, 256, 1, join(block, 'Branch_1/Conv2d_0a_1x1'))
  b1 = conv2d_bn(b1, 288, 3, join(block, 'Branch_1/Conv2d_1a_3x3'), stride=2,
                 padding='VALID')
  b2 = conv2d_bn(x, 256, 1, join(block, 'Branch_2/Conv2d_0a_1x1'))
  b2 = conv2d_bn(b2, 288, 3, join(block, 'Branch_2/Conv2d_0b_3x3'))
  b2 = conv2d_bn(b2, 320, 3, join(block, 'Branch_2/Conv2d_1a_3x3'), stride=2,
                 padding='VALID')
  b3 = _max_pool_3x3_s2(x, join(block, 'Branch_3/MaxPool_1a_3x3'))
  x = zl.concat([b0, b1, b2, b3], block)
  # 8 x 8 x 2080
  x = _repeat(x, _block8, scope, _BLOCK8)
  # The last block8 is outside slim.repeat: default scale 1.0, and no ReLU
  # before Conv2d_7b_1x1.
  x = _block8(x, join(scope, 'Block8'), scale=1.0, activation=False)
  # 8 x 8 x 2080
  x = conv2d_bn(x, 1536, 1, join(scope, 'Conv2d_7b_1x1'))
  # 8 x 8 x 1536

  # The FIA copy pools with a fixed 8x8 VALID window; pooling over the whole
  # map is the same at 299 x 299 and stays a global average elsewhere.
  x = zl.avg_pool2d(x, (x.shape[1], x.shape[2]),
                    join(scope, 'Logits/AvgPool_1a_8x8'), stride=1,
                    padding='VALID')
  # 1 x 1 x 1536; slim flattens with tf.reshape to [B, C].
  x = zl.spatial_squeeze(x, join(scope, 'Logits/Reshape'))
  # slim's keep_prob=0.8 is rate=0.2, inactive at inference.
  x = layers.Dropout(
      0.2, name=names.to_keras(join(scope, 'Logits/Dropout')))(x)
  # 1536
  logits = layers.Dense(num_classes,
                        name=names.to_keras(join(scope, 'Logits/Logits')))(x)
  return keras.Model(inputs, logits, name=scope)


def with_aux_logits(model, scope=None):
  """Adds slim's auxiliary head to a model from :func:`inception_resnet_v2`.

  The head's layers are new and read ``PreAuxLogits``; the trunk is shared
  with ``model`` (no copy, same weights).

  Args:
    model: a model built by :func:`inception_resnet_v2`.
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
  x = model.get_layer(end_points(scope)['PreAuxLogits']).output
  head = join(scope, 'AuxLogits')
  # 17 x 17 x 1088; slim names this average pool 'Conv2d_1a_3x3'.
  x = zl.avg_pool2d(x, 5, join(head, 'Conv2d_1a_3x3'), stride=3,
                    padding='VALID')
  # 5 x 5 x 1088
  x = conv2d_bn(x, 128, 1, join(head, 'Conv2d_1b_1x1'))
  x = conv2d_bn(x, 768, 5, join(head, 'Conv2d_2a_5x5'), padding='VALID')
  # 1 x 1 x 768
  x = zl.spatial_squeeze(x, join(head, 'Reshape'))
  x = layers.Dense(num_classes, name=names.to_keras(join(head, 'Logits')))(x)
  return keras.Model(model.inputs, [model.outputs[0], x],
                     name=names.to_keras(head))
