"""Inception V4 as a Keras 3 functional model, exact to the TF-slim checkpoint.

Reproduces ``nets/inception_v4.py`` as shipped with the original FIA code
(``inception_v4`` under ``inception_arg_scope``, ``is_training=False``): every
convolution is bias-free, followed by BatchNorm (``scale=False``,
``epsilon=0.001``) and ReLU; the logits are a fully connected layer on the
flattened global average pool.

Layer names follow :mod:`fia_tf.zoo.names` (slim scope with ``/`` -> ``.``);
see :mod:`fia_tf.zoo.inception_v3` for the conventions. Layers come from
:mod:`fia_tf.zoo.layers`; :func:`fia_tf.zoo.inception_v3.conv2d_bn` is slim's
``inception_arg_scope`` convolution.

Auxiliary head: the checkpoint's ``InceptionV4/AuxLogits/*`` variables do not
influence the logits, so :func:`inception_v4` does not create them; its weights
are the checkpoint minus ``/AuxLogits/``, which
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


def _avg_pool_3x3(x, scope):
  """The stride-1 SAME 3x3 average pool of the Inception pool branches."""
  return zl.avg_pool2d(x, 3, scope, stride=1, padding='SAME')


def _max_pool_3x3_s2(x, scope):
  """The stride-2 VALID 3x3 max pool of the stem and reduction blocks."""
  return zl.max_pool2d(x, 3, scope, stride=2, padding='VALID')


def _inception_a(x, scope):
  """Inception-A block (Mixed_5b..5e), 35 x 35 x 384 -> 35 x 35 x 384."""
  b0 = conv2d_bn(x, 96, 1, join(scope, 'Branch_0/Conv2d_0a_1x1'))
  b1 = conv2d_bn(x, 64, 1, join(scope, 'Branch_1/Conv2d_0a_1x1'))
  b1 = conv2d_bn(b1, 96, 3, join(scope, 'Branch_1/Conv2d_0b_3x3'))
  b2 = conv2d_bn(x, 64, 1, join(scope, 'Branch_2/Conv2d_0a_1x1'))
  b2 = conv2d_bn(b2, 96, 3, join(scope, 'Branch_2/Conv2d_0b_3x3'))
  b2 = conv2d_bn(b2, 96, 3, join(scope, 'Branch_2/Conv2d_0c_3x3'))
  b3 = _avg_pool_3x3(x, join(scope, 'Branch_3/AvgPool_0a_3x3'))
  b3 = conv2d_bn(b3, 96, 1, join(scope, 'Branch_3/Conv2d_0b_1x1'))
  return zl.concat([b0, b1, b2, b3], scope)


def _reduction_a(x, scope):
  """Reduction-A block (Mixed_6a), 35 x 35 x 384 -> 17 x 17 x 1024."""
  b0 = conv2d_bn(x, 384, 3, join(scope, 'Branch_0/Conv2d_1a_3x3'), stride=2,
                 padding='VALID')
  b1 = conv2d_bn(x, 192, 1, join(scope, 'Branch_1/Conv2d_0a_1x1'))
  b1 = conv2d_bn(b1, 224, 3, join(scope, 'Branch_1/Conv2d_0b_3x3'))
  b1 = conv2d_bn(b1, 256, 3, join(scope, 'Branch_1/Conv2d_1a_3x3'), stride=2,
                 padding='VALID')
  b2 = _max_pool_3x3_s2(x, join(scope, 'Branch_2/MaxPool_1a_3x3'))
  return zl.concat([b0, b1, b2], scope)


def _inception_b(x, scope):
  """Inception-B block (Mixed_6b..6h), 17 x 17 x 1024 -> 17 x 17 x 1024."""
  b0 = conv2d_bn(x, 384, 1, join(scope, 'Branch_0/Conv2d_0a_1x1'))
  b1 = conv2d_bn(x, 192, 1, join(scope, 'Branch_1/Conv2d_0a_1x1'))
  b1 = conv2d_bn(b1, 224, (1, 7), join(scope, 'Branch_1/Conv2d_0b_1x7'))
  b1 = conv2d_bn(b1, 256, (7, 1), join(scope, 'Branch_1/Conv2d_0c_7x1'))
  b2 = conv2d_bn(x, 192, 1, join(scope, 'Branch_2/Conv2d_0a_1x1'))
  b2 = conv2d_bn(b2, 192, (7, 1), join(scope, 'Branch_2/Conv2d_0b_7x1'))
  b2 = conv2d_bn(b2, 224, (1, 7), join(scope, 'Branch_2/Conv2d_0c_1x7'))
  b2 = conv2d_bn(b2, 224, (7, 1), join(scope, 'Branch_2/Conv2d_0d_7x1'))
  b2 = conv2d_bn(b2, 256, (1, 7), join(scope, 'Branch_2/Conv2d_0e_1x7'))
  b3 = _avg_pool_3x3(x, join(scope, 'Branch_3/AvgPool_0a_3x3'))
  b3 = conv2d_bn(b3, 128, 1, join(scope, 'Branch_3/Conv2d_0b_1x1'))
  return zl.concat([b0, b1, b2, b3], scope)


def _reduction_b(x, scope):
  """Reduction-B block (Mixed_7a), 17 x 17 x 1024 -> 8 x 8 x 1536."""
  b0 = conv2d_bn(x, 192, 1, join(scope, 'Branch_0/Conv2d_0a_1x1'))
  b0 = conv2d_bn(b0, 192, 3, join(scope, 'Branch_0/Conv2d_1a_3x3'), stride=2,
                 padding='VALID')
  b1 = conv2d_bn(x, 256, 1, join(scope, 'Branch_1/Conv2d_0a_1x1'))
  b1 = conv2d_bn(b1, 256, (1, 7), join(scope, 'Branch_1/Conv2d_0b_1x7'))
  b1 = conv2d_bn(b1, 320, (7, 1), join(scope, 'Branch_1/Conv2d_0c_7x1'))
  b1 = conv2d_bn(b1, 320, 3, join(scope, 'Branch_1/Conv2d_1a_3x3'), stride=2,
                 padding='VALID')
  b2 = _max_pool_3x3_s2(x, join(scope, 'Branch_2/MaxPool_1a_3x3'))
  return zl.concat([b0, b1, b2], scope)


def _inception_c(x, scope):
  """Inception-C block (Mixed_7b..7d), 8 x 8 x 1536 -> 8 x 8 x 1536."""
  b0 = conv2d_bn(x, 256, 1, join(scope, 'Branch_0/Conv2d_0a_1x1'))
  b1 = conv2d_bn(x, 384, 1, join(scope, 'Branch_1/Conv2d_0a_1x1'))
  b1 = zl.concat([
      conv2d_bn(b1, 256, (1, 3), join(scope, 'Branch_1/Conv2d_0b_1x3')),
      conv2d_bn(b1, 256, (3, 1), join(scope, 'Branch_1/Conv2d_0c_3x1')),
  ], join(scope, 'Branch_1'))
  b2 = conv2d_bn(x, 384, 1, join(scope, 'Branch_2/Conv2d_0a_1x1'))
  b2 = conv2d_bn(b2, 448, (3, 1), join(scope, 'Branch_2/Conv2d_0b_3x1'))
  b2 = conv2d_bn(b2, 512, (1, 3), join(scope, 'Branch_2/Conv2d_0c_1x3'))
  b2 = zl.concat([
      conv2d_bn(b2, 256, (1, 3), join(scope, 'Branch_2/Conv2d_0d_1x3')),
      conv2d_bn(b2, 256, (3, 1), join(scope, 'Branch_2/Conv2d_0e_3x1')),
  ], join(scope, 'Branch_2'))
  b3 = _avg_pool_3x3(x, join(scope, 'Branch_3/AvgPool_0a_3x3'))
  b3 = conv2d_bn(b3, 256, 1, join(scope, 'Branch_3/Conv2d_0b_1x1'))
  return zl.concat([b0, b1, b2, b3], scope)


def _mixed_blocks(prefix, count):
  """Slim's block names ``Mixed_5b``, ``Mixed_5c``, ... (``count`` of them)."""
  return [f'{prefix}{chr(ord("b") + i)}' for i in range(count)]


def end_points(scope='InceptionV4'):
  """Maps slim end-point names to Keras layer names.

  ``Predictions`` (the softmax of ``Logits``) is not a layer. ``AuxLogits``
  lives in the model returned by :func:`with_aux_logits`.

  Args:
    scope: the scope the model was built with.

  Returns:
    dict from end-point name to the name of the layer producing it.
  """
  eps = {}
  for ep in ('Conv2d_1a_3x3', 'Conv2d_2a_3x3', 'Conv2d_2b_3x3'):
    eps[ep] = names.to_keras(join(scope, ep, 'Relu'))
  blocks = (['Mixed_3a', 'Mixed_4a', 'Mixed_5a'] + _mixed_blocks('Mixed_5', 4)
            + ['Mixed_6a'] + _mixed_blocks('Mixed_6', 7) + ['Mixed_7a']
            + _mixed_blocks('Mixed_7', 3))
  for ep in blocks:
    eps[ep] = names.to_keras(join(scope, ep, 'concat'))
  eps['PreLogitsFlatten'] = names.to_keras(join(scope, 'Logits/Reshape'))
  eps['Logits'] = names.to_keras(join(scope, 'Logits/Logits'))
  eps['AuxLogits'] = names.to_keras(join(scope, 'AuxLogits/Aux_logits'))
  return eps


END_POINTS = end_points()


def inception_v4(num_classes=1001, input_shape=(299, 299, 3),
                 scope='InceptionV4'):
  """Builds slim's Inception V4 (inference mode) as a Keras model.

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
  block = join(scope, 'Mixed_3a')
  b0 = _max_pool_3x3_s2(x, join(block, 'Branch_0/MaxPool_0a_3x3'))
  b1 = conv2d_bn(x, 96, 3, join(block, 'Branch_1/Conv2d_0a_3x3'), stride=2,
                 padding='VALID')
  x = zl.concat([b0, b1], block)
  # 73 x 73 x 160
  block = join(scope, 'Mixed_4a')
  b0 = conv2d_bn(x, 64, 1, join(block, 'Branch_0/Conv2d_0a_1x1'))
  b0 = conv2d_bn(b0, 96, 3, join(block, 'Branch_0/Conv2d_1a_3x3'),
                 padding='VALID')
  b1 = conv2d_bn(x, 64, 1, join(block, 'Branch_1/Conv2d_0a_1x1'))
  b1 = conv2d_bn(b1, 64, (1, 7), join(block, 'Branch_1/Conv2d_0b_1x7'))
  b1 = conv2d_bn(b1, 64, (7, 1), join(block, 'Branch_1/Conv2d_0c_7x1'))
  b1 = conv2d_bn(b1, 96, 3, join(block, 'Branch_1/Conv2d_1a_3x3'),
                 padding='VALID')
  x = zl.concat([b0, b1], block)
  # 71 x 71 x 192
  block = join(scope, 'Mixed_5a')
  b0 = conv2d_bn(x, 192, 3, join(block, 'Branch_0/Conv2d_1a_3x3'), stride=2,
                 padding='VALID')
  b1 = _max_pool_3x3_s2(x, join(block, 'Branch_1/MaxPool_1a_3x3'))
  x = zl.concat([b0, b1], block)
  # 35 x 35 x 384
  for block in _mixed_blocks('Mixed_5', 4):
    x = _inception_a(x, join(scope, block))
  # 35 x 35 x 384
  x = _reduction_a(x, join(scope, 'Mixed_6a'))
  # 17 x 17 x 1024
  for block in _mixed_blocks('Mixed_6', 7):
    x = _inception_b(x, join(scope, block))
  # 17 x 17 x 1024
  x = _reduction_b(x, join(scope, 'Mixed_7a'))
  # 8 x 8 x 1536
  for block in _mixed_blocks('Mixed_7', 3):
    x = _inception_c(x, join(scope, block))
  # 8 x 8 x 1536

  # The FIA copy pools with a fixed 8x8 VALID window; pooling over the whole
  # map is the same at 299 x 299 and stays a global average elsewhere.
  x = zl.avg_pool2d(x, (x.shape[1], x.shape[2]),
                    join(scope, 'Logits/AvgPool_1a'), stride=1,
                    padding='VALID')
  # 1 x 1 x 1536; slim's keep_prob=0.8 is rate=0.2, inactive at inference.
  x = layers.Dropout(
      0.2, name=names.to_keras(join(scope, 'Logits/Dropout_1b')))(x)
  # slim flattens with tf.reshape to [B, C].
  x = zl.spatial_squeeze(x, join(scope, 'Logits/Reshape'))
  # 1536
  logits = layers.Dense(num_classes,
                        name=names.to_keras(join(scope, 'Logits/Logits')))(x)
  return keras.Model(inputs, logits, name=scope)


def with_aux_logits(model, scope=None):
  """Adds slim's auxiliary classifier head to a model from :func:`inception_v4`.

  The head's layers are new and read ``Mixed_6h``; the trunk is shared with
  ``model`` (no copy, same weights).

  Args:
    model: a model built by :func:`inception_v4`.
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
  x = model.get_layer(names.to_keras(join(scope, 'Mixed_6h/concat'))).output
  head = join(scope, 'AuxLogits')
  # 17 x 17 x 1024
  x = zl.avg_pool2d(x, 5, join(head, 'AvgPool_1a_5x5'), stride=3,
                    padding='VALID')
  # 5 x 5 x 1024
  x = conv2d_bn(x, 128, 1, join(head, 'Conv2d_1b_1x1'))
  x = conv2d_bn(x, 768, 5, join(head, 'Conv2d_2a'), padding='VALID')
  # 1 x 1 x 768
  x = zl.spatial_squeeze(x, join(head, 'Reshape'))
  x = layers.Dense(num_classes,
                   name=names.to_keras(join(head, 'Aux_logits')))(x)
  return keras.Model(model.inputs, [model.outputs[0], x],
                     name=names.to_keras(head))
