"""Named pixel -> model-input conventions (and inverses), one place for all.

The arithmetic runs in float64 and the result is cast back to the input's
float type: the original code preprocessed in float64 NumPy and fed float32,
and a float32 subtraction of the (inexact) float32 VGG means is one ulp off.
"""

import functools

from keras import ops

VGG_MEAN = (123.68, 116.78, 103.94)
# TF EfficientNet-Lite normalisation (the same for all three channels).
LITE_MEAN = 127.0
LITE_STD = 128.0


def _in_float64(fn):
  # keras.ops, so the functions also apply to KerasTensors in functional
  # models; with the TF backend they are plain TF ops.
  @functools.wraps(fn)
  def wrapped(x):
    dtype = ops.dtype(x) if 'float' in str(ops.dtype(x)) else 'float32'
    return ops.cast(fn(ops.cast(x, 'float64')), dtype)
  return wrapped


def identity(x):
  return x


@_in_float64
def unit(x):
  """0..255 -> 0..1."""
  return x / 255.0


@_in_float64
def inception(x):
  """0..255 -> -1..1, the slim Inception / ResNet-v2 convention."""
  return (x / 255.0 - 0.5) * 2.0


@_in_float64
def vgg(x):
  """Per-channel RGB mean subtraction, the slim VGG / ResNet-v1 convention."""
  return x - ops.convert_to_tensor(VGG_MEAN, 'float64')


@_in_float64
def efficientnet_lite(x):
  """(pixel - 127) / 128, the TF EfficientNet-Lite convention."""
  return (x - LITE_MEAN) / LITE_STD


@_in_float64
def inverse_unit(x):
  return x * 255.0


@_in_float64
def inverse_inception(x):
  return (x + 1.0) * 0.5 * 255.0


@_in_float64
def inverse_vgg(x):
  return x + ops.convert_to_tensor(VGG_MEAN, 'float64')


@_in_float64
def inverse_efficientnet_lite(x):
  return x * LITE_STD + LITE_MEAN


FUNCTIONS = {'identity': identity, 'unit': unit, 'inception': inception,
             'vgg': vgg, 'efficientnet_lite': efficientnet_lite}
INVERSES = {'identity': identity, 'unit': inverse_unit,
            'inception': inverse_inception, 'vgg': inverse_vgg,
            'efficientnet_lite': inverse_efficientnet_lite}
# Model-input units per pixel level (for converting eps and steps).
SCALES = {'identity': 1.0, 'unit': 1 / 255, 'inception': 2 / 255, 'vgg': 1.0,
          'efficientnet_lite': 1 / LITE_STD}


def source_kwargs(name):
  """``preprocess``, ``inverse`` and ``scale`` of a named convention, as
  keyword arguments for :class:`fia_tf.SourceModel`."""
  get(name)
  return {'preprocess': FUNCTIONS[name], 'inverse': INVERSES[name],
          'scale': SCALES[name]}


def get(preprocess):
  """A preprocessing function from its name, or the callable itself."""
  if callable(preprocess):
    return preprocess
  if preprocess not in FUNCTIONS:
    raise ValueError(f'unknown preprocess {preprocess!r}; known: '
                     f'{sorted(FUNCTIONS)} or a callable')
  return FUNCTIONS[preprocess]
