"""Slim-style building blocks shared by the zoo builders.

Every helper creates Keras layers named after the TF-slim scope that holds the
corresponding variables or ops (see :mod:`fia_tf.zoo.names`), so that loading
a slim checkpoint is a pure renaming and users can address any op by its slim
name. The conventions, relied upon by :mod:`fia_tf.zoo.checkpoint` and by
every ``resolve_layer``:

* ``conv2d(x, ..., scope='a/b')`` makes the convolution layer ``a.b``
  (variables ``a/b/weights``, ``a/b/biases``), optionally its batch norm
  ``a.b.BatchNorm`` and its activation ``a.b.Relu``. The convolution layer
  itself never has an activation, so its output is slim's ``BiasAdd`` /
  ``Conv2D`` tensor.
* ``batch_norm(x, scope='a/bn')`` makes the layer ``a.bn`` (variables
  ``a/bn/beta|gamma|moving_mean|moving_variance``) and, with an activation,
  ``a.bn.Relu``.
* Ops without variables (pooling, padding, add, concat, squeeze) get the slim
  *op* name, e.g. ``.../bottleneck_v1/add``.

API (stable; the Inception builders import it):

* :func:`join` -- joins scope components with ``/``.
* :func:`conv2d` -- ``slim.conv2d``.
* :func:`conv2d_same` -- ``resnet_utils.conv2d_same`` (explicit padding for
  strided convolutions).
* :func:`batch_norm` -- ``slim.batch_norm``.
* :func:`activation` -- a named activation layer.
* :func:`max_pool2d`, :func:`avg_pool2d` -- ``slim.max_pool2d`` /
  ``slim.avg_pool2d``.
* :func:`add`, :func:`concat`, :func:`spatial_squeeze`,
  :func:`reduce_mean_keepdims` -- named variable-free ops.

Padding arguments accept ``'SAME'``/``'VALID'`` in either case, like slim.
"""

from keras import layers

from fia_tf.zoo import names


def join(*parts):
  """Joins slim scope components with ``/``, skipping empty ones."""
  return '/'.join(p for p in parts if p)


def _parent(scope):
  return scope.rpartition('/')[0]


def _padding(padding):
  padding = padding.lower()
  if padding not in ('same', 'valid'):
    raise ValueError(f'padding must be SAME or VALID, got {padding!r}')
  return padding


def activation(x, scope, fn='relu'):
  """Applies ``fn`` as a layer named ``<scope>.Relu`` (slim's op name).

  Args:
    x: input tensor.
    scope: scope of the op producing ``x`` (e.g. the conv scope); the
      activation op lives inside it, as in slim.
    fn: Keras activation name; slim's op name is derived from it
      (``relu`` -> ``Relu``).

  Returns:
    The activated tensor.
  """
  op = {'relu': 'Relu', 'relu6': 'Relu6', 'sigmoid': 'Sigmoid',
        'tanh': 'Tanh'}.get(fn, fn)
  return layers.Activation(fn, name=names.to_keras(join(scope, op)))(x)


def batch_norm(x, scope, epsilon=0.001, scale=False, center=True,
               activation_fn=None, momentum=0.997):
  """``slim.batch_norm`` in inference mode.

  Args:
    x: NHWC input.
    scope: the slim scope of the batch norm variables, e.g. ``.../preact``
      or ``.../conv1/BatchNorm``.
    epsilon: variance epsilon (slim default 0.001; resnet arg_scope 1e-5).
    scale: whether a ``gamma`` variable exists.
    center: whether a ``beta`` variable exists.
    activation_fn: ``None`` or a Keras activation name applied after the
      normalisation as layer ``<scope>.Relu``.
    momentum: moving-average decay; irrelevant at inference, kept for
      fine-tuning.

  Returns:
    The normalised (and activated) tensor.
  """
  x = layers.BatchNormalization(axis=-1, momentum=momentum, epsilon=epsilon,
                                center=center, scale=scale,
                                name=names.to_keras(scope))(x)
  if activation_fn is not None:
    x = activation(x, scope, activation_fn)
  return x


def conv2d(x, filters, kernel_size, scope, stride=1, padding='SAME', rate=1,
           activation_fn='relu', use_bias=None, normalizer=None):
  """``slim.conv2d``: convolution, optional batch norm, optional activation.

  Args:
    x: NHWC input.
    filters: number of output channels.
    kernel_size: int or (height, width).
    scope: full slim scope of the convolution variables.
    stride: int stride.
    padding: ``'SAME'`` or ``'VALID'`` (TF semantics).
    rate: dilation rate.
    activation_fn: Keras activation name or ``None``; applied as layer
      ``<scope>.Relu``.
    use_bias: whether the conv has ``biases``; default: only when there is
      no normalizer (slim drops the bias when ``normalizer_fn`` is set).
    normalizer: ``None`` or a dict of :func:`batch_norm` keyword arguments
      (``epsilon``, ``scale``, ``center``, ``momentum``); the batch norm
      layer is ``<scope>.BatchNorm``.

  Returns:
    The output tensor (after the activation, if any).
  """
  if use_bias is None:
    use_bias = normalizer is None
  x = layers.Conv2D(filters, kernel_size, strides=stride,
                    padding=_padding(padding), dilation_rate=rate,
                    use_bias=use_bias, name=names.to_keras(scope))(x)
  if normalizer is not None:
    x = batch_norm(x, join(scope, 'BatchNorm'), **normalizer)
  if activation_fn is not None:
    x = activation(x, scope, activation_fn)
  return x


def conv2d_same(x, filters, kernel_size, stride, scope, rate=1, **kwargs):
  """``resnet_utils.conv2d_same``: 'SAME' output size, input-size independent.

  For ``stride > 1`` TF's 'SAME' padding depends on the input size; slim pads
  explicitly with ``(k_eff - 1) // 2`` before and the rest after, then runs a
  'VALID' convolution. The pad layer gets slim's op name ``<parent>/Pad``
  (the pad is created outside the conv scope).

  Args:
    x: NHWC input.
    filters: output channels.
    kernel_size: int kernel size.
    stride: int stride.
    scope: slim scope of the convolution.
    rate: dilation rate.
    **kwargs: forwarded to :func:`conv2d` (``activation_fn``,
      ``normalizer``, ``use_bias``).

  Returns:
    The output tensor.
  """
  if stride == 1:
    return conv2d(x, filters, kernel_size, scope, stride=1, padding='SAME',
                  rate=rate, **kwargs)
  effective = kernel_size + (kernel_size - 1) * (rate - 1)
  total = effective - 1
  begin = total // 2
  end = total - begin
  x = layers.ZeroPadding2D(((begin, end), (begin, end)),
                           name=names.to_keras(join(_parent(scope), 'Pad')))(x)
  return conv2d(x, filters, kernel_size, scope, stride=stride, padding='VALID',
                rate=rate, **kwargs)


def max_pool2d(x, pool_size, scope, stride=2, padding='VALID'):
  """``slim.max_pool2d`` (slim defaults: stride 2, VALID); layer ``scope``."""
  return layers.MaxPooling2D(pool_size, strides=stride,
                             padding=_padding(padding),
                             name=names.to_keras(scope))(x)


def avg_pool2d(x, pool_size, scope, stride=2, padding='VALID'):
  """``slim.avg_pool2d``; with SAME, padded cells are not counted (as TF)."""
  return layers.AveragePooling2D(pool_size, strides=stride,
                                 padding=_padding(padding),
                                 name=names.to_keras(scope))(x)


def add(tensors, scope):
  """Elementwise sum, layer ``<scope>.add`` (slim's ``tf.add``/``+`` op)."""
  return layers.Add(name=names.to_keras(join(scope, 'add')))(list(tensors))


def concat(tensors, scope, axis=-1):
  """``tf.concat`` inside ``scope``; the layer is ``<scope>.concat``."""
  return layers.Concatenate(axis=axis,
                            name=names.to_keras(join(scope, 'concat')))(
                                list(tensors))


def reduce_mean_keepdims(x, name):
  """Global spatial mean keeping ``[B, 1, 1, C]``; layer named ``name``."""
  return layers.GlobalAveragePooling2D(keepdims=True,
                                       name=names.to_keras(name))(x)


def spatial_squeeze(x, name):
  """``tf.squeeze(x, [1, 2])`` of a ``[B, 1, 1, C]`` tensor; layer ``name``.

  Raises:
    ValueError: if the spatial dims are not 1x1 (slim would fail too).
  """
  if x.shape[1] != 1 or x.shape[2] != 1:
    raise ValueError(f'{name}: cannot squeeze spatial dims of shape '
                     f'{tuple(x.shape)}; the input size is too large for '
                     'this net')
  return layers.Reshape((int(x.shape[-1]),), name=names.to_keras(name))(x)


__all__ = ['activation', 'add', 'avg_pool2d', 'batch_norm', 'concat',
           'conv2d', 'conv2d_same', 'join', 'max_pool2d',
           'reduce_mean_keepdims', 'spatial_squeeze']
