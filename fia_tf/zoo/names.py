"""Reversible mapping between TF-slim scope names and Keras 3 layer names.

Keras 3 forbids ``/`` in layer names, so every zoo layer is named after its
slim scope with ``/`` replaced by :data:`SEP`. Slim scope names never contain
``.``, which makes the mapping a bijection. A Keras weight ``<layer>/<attr>``
maps to the slim variable ``<scope>/<slim attr>``.
"""

SEP = '.'

# Keras weight attribute -> slim variable leaf name.
_KERAS_TO_SLIM_ATTR = {
    'kernel': 'weights',
    'bias': 'biases',
    'gamma': 'gamma',
    'beta': 'beta',
    'moving_mean': 'moving_mean',
    'moving_variance': 'moving_variance',
}
_SLIM_TO_KERAS_ATTR = {v: k for k, v in _KERAS_TO_SLIM_ATTR.items()}


def to_keras(scope):
  """Returns the Keras layer name for a slim scope (``a/b/c`` -> ``a.b.c``)."""
  if SEP in scope:
    raise ValueError(f'slim scope {scope!r} must not contain {SEP!r}')
  return scope.replace('/', SEP)


def to_slim(layer_name):
  """Returns the slim scope for a Keras layer name (``a.b.c`` -> ``a/b/c``)."""
  return layer_name.replace(SEP, '/')


def slim_variable_name(weight_path):
  """Maps a Keras weight path (``layer/attr``) to its slim checkpoint name."""
  layer_name, _, attr = weight_path.rpartition('/')
  if attr not in _KERAS_TO_SLIM_ATTR:
    raise ValueError(f'no slim name for Keras weight attribute {attr!r} '
                     f'(weight {weight_path!r})')
  return f'{to_slim(layer_name)}/{_KERAS_TO_SLIM_ATTR[attr]}'


def keras_weight_path(variable_name):
  """Inverse of :func:`slim_variable_name`."""
  scope, _, leaf = variable_name.rpartition('/')
  if leaf not in _SLIM_TO_KERAS_ATTR:
    raise ValueError(f'no Keras attribute for slim variable {variable_name!r}')
  return f'{to_keras(scope)}/{_SLIM_TO_KERAS_ATTR[leaf]}'
