"""Named pixel -> model-input functions (and inverses) for serialisable configs."""

import tensorflow as tf

VGG_MEAN = (123.68, 116.78, 103.94)


def identity(x):
  return x


def unit(x):
  """0..255 -> 0..1."""
  return x / 255.0


def inception(x):
  """0..255 -> -1..1, the slim Inception / ResNet-v2 convention."""
  return (x / 255.0 - 0.5) * 2.0


def vgg(x):
  """Per-channel mean subtraction, the slim VGG / ResNet-v1 convention."""
  return x - tf.constant(VGG_MEAN, x.dtype)


def inverse_unit(x):
  return x * 255.0


def inverse_inception(x):
  return (x + 1.0) * 0.5 * 255.0


def inverse_vgg(x):
  return x + tf.constant(VGG_MEAN, x.dtype)


FUNCTIONS = {'identity': identity, 'unit': unit, 'inception': inception,
             'vgg': vgg}
INVERSES = {'identity': identity, 'unit': inverse_unit,
            'inception': inverse_inception, 'vgg': inverse_vgg}


SCALES = {'identity': 1.0, 'unit': 1 / 255, 'inception': 2 / 255, 'vgg': 1.0}


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
