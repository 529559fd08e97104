"""The mini zoo: small Keras classifiers for 28x28x1 Fashion-MNIST.

Five families mirror the paper's ImageNet zoo at a thousandth of the cost:

* ``vgg``: a plain conv stack (VGG-16);
* ``resnet_v1``: post-activation residual blocks (ResNet-v1-50/152);
* ``resnet_v2``: pre-activation residual blocks (ResNet-v2);
* ``inception``: modules of parallel 1x1 / 3x3 / double-3x3 / pool branches
  (Inception-v3/v4);
* ``mobilenet``: depthwise-separable convolutions.

Each names a mid-level feature layer for FIA, as the paper picks one in the
middle of every net (VGG ``conv3_3``, Inception-v3 ``Mixed_5b``, ResNet
``block2``). Models map ``unit``-preprocessed input (pixels / 255) to logits.

Roles: ``normal`` models are the demo's sources and targets; ``static``
models only lend FGSM examples to ensemble adversarial training (Tramer et al.
2018) and are never attacked or evaluated; ``defence`` models are trained
that way and are only targets, like the paper's ens3/ens4-adv-Inception-v3.
"""

import dataclasses
import json
import pathlib
from typing import Callable, Tuple

import keras

from fia_tf import preprocessing
from fia_tf.attacks import source as source_lib

# The committed weights, relative to the repository (the binaries pass it).
MODEL_DIR = pathlib.Path('models') / 'mini'
INPUT_SHAPE = (28, 28, 1)
NUM_CLASSES = 10
PREPROCESS = 'unit'

_L = keras.layers


def _conv_bn(x, filters, kernel, name, strides=1, relu=True, bn=True):
  # He init keeps ReLU stacks without batch norm trainable.
  x = _L.Conv2D(filters, kernel, strides=strides, padding='same',
                use_bias=not bn, kernel_initializer='he_normal',
                name=f'{name}_conv')(x)
  if bn:
    x = _L.BatchNormalization(name=f'{name}_bn')(x)
  if relu:
    x = _L.Activation('relu', name=f'{name}_relu')(x)
  return x


def _head(x, name, flatten=False, dropout=0.0):
  del name
  if flatten:
    # VGG-16's fully connected head; without batch norm it also trains much
    # faster here than global pooling.
    x = _L.Flatten(name='flatten')(x)
  else:
    x = _L.GlobalAveragePooling2D(name='pool')(x)
  if dropout:
    x = _L.Dropout(dropout, name='dropout')(x)
  return _L.Dense(NUM_CLASSES, name='logits')(x)


def vgg(width=16, name='vgg'):
  """Plain stack of conv-ReLU (no batch norm, as VGG-16), max-pool between
  stages."""
  inputs = keras.Input(INPUT_SHAPE, name='input')
  x = inputs
  # One conv at full resolution: the 28x28 stage dominates the cost.
  for stage, (filters, convs) in enumerate(
      ((width, 1), (2 * width, 2), (4 * width, 2)), start=1):
    for i in range(1, convs + 1):
      x = _conv_bn(x, filters, 3, f'block{stage}_conv{i}', bn=False)
    if stage < 3:
      x = _L.MaxPooling2D(2, name=f'block{stage}_pool')(x)
  return keras.Model(inputs, _head(x, name, flatten=True), name=name)


def _basic_v1(x, filters, strides, name):
  shortcut = x
  if strides != 1 or x.shape[-1] != filters:
    shortcut = _conv_bn(x, filters, 1, f'{name}_proj', strides, relu=False)
  y = _conv_bn(x, filters, 3, f'{name}_a', strides)
  y = _conv_bn(y, filters, 3, f'{name}_b', relu=False)
  y = _L.Add(name=f'{name}_add')([shortcut, y])
  return _L.Activation('relu', name=f'{name}_out')(y)


def resnet_v1(width=16, blocks=(1, 1, 1), name='resnet_v1'):
  """Post-activation residual stages (conv-BN-ReLU, ReLU after the add).

  The stem has stride 2 (as ResNet's 7x7/2 stem): stages run at 14, 7, 4.
  """
  inputs = keras.Input(INPUT_SHAPE, name='input')
  x = _conv_bn(inputs, width, 3, 'stem', strides=2)
  for stage, count in enumerate(blocks, start=1):
    for unit in range(1, count + 1):
      strides = 2 if stage > 1 and unit == 1 else 1
      x = _basic_v1(x, width * 2**(stage - 1), strides,
                    f'block{stage}_unit{unit}')
  return keras.Model(inputs, _head(x, name), name=name)


def _basic_v2(x, filters, strides, name):
  pre = _L.BatchNormalization(name=f'{name}_preact_bn')(x)
  pre = _L.Activation('relu', name=f'{name}_preact')(pre)
  shortcut = x
  if strides != 1 or x.shape[-1] != filters:
    shortcut = _L.Conv2D(filters, 1, strides=strides, name=f'{name}_proj')(pre)
  y = _conv_bn(pre, filters, 3, f'{name}_a', strides)
  y = _L.Conv2D(filters, 3, padding='same', name=f'{name}_b_conv')(y)
  return _L.Add(name=f'{name}_out')([shortcut, y])


def resnet_v2(width=16, blocks=(1, 1, 1), name='resnet_v2'):
  """Pre-activation residual stages (BN-ReLU before each conv)."""
  inputs = keras.Input(INPUT_SHAPE, name='input')
  x = _L.Conv2D(width, 3, strides=2, padding='same', name='stem_conv')(inputs)
  for stage, count in enumerate(blocks, start=1):
    for unit in range(1, count + 1):
      strides = 2 if stage > 1 and unit == 1 else 1
      x = _basic_v2(x, width * 2**(stage - 1), strides,
                    f'block{stage}_unit{unit}')
  x = _L.BatchNormalization(name='postnorm_bn')(x)
  x = _L.Activation('relu', name='postnorm')(x)
  return keras.Model(inputs, _head(x, name), name=name)


def _inception_module(x, filters, name):
  """Four parallel branches, concatenated (Inception-v3's Mixed_5b shape).

  No batch norm: on CPU it doubled the training time of these many small
  convolutions, and the net trains well without it.
  """
  b1 = _conv_bn(x, filters, 1, f'{name}_b1x1', bn=False)
  b3 = _conv_bn(x, filters // 2, 1, f'{name}_b3x3_reduce', bn=False)
  b3 = _conv_bn(b3, filters, 3, f'{name}_b3x3', bn=False)
  b5 = _conv_bn(x, filters // 2, 1, f'{name}_bdbl_reduce', bn=False)
  b5 = _conv_bn(b5, filters // 2, 3, f'{name}_bdbl_a', bn=False)
  b5 = _conv_bn(b5, filters // 2, 3, f'{name}_bdbl_b', bn=False)
  bp = _L.AveragePooling2D(3, strides=1, padding='same',
                           name=f'{name}_bpool_pool')(x)
  bp = _conv_bn(bp, filters // 2, 1, f'{name}_bpool', bn=False)
  return _L.Concatenate(name=f'{name}_concat')([b1, b3, b5, bp])


def inception(width=16, name='inception'):
  """Stride-2 stem, a module at 14x14, a reduction, a module at 7x7."""
  inputs = keras.Input(INPUT_SHAPE, name='input')
  x = _conv_bn(inputs, width, 3, 'stem_a', strides=2, bn=False)
  x = _inception_module(x, width, 'mixed_a')
  # Reduction: stride-2 conv in parallel with max-pool, as Mixed_6a.
  r = _conv_bn(x, 2 * width, 3, 'reduce_conv', strides=2, bn=False)
  p = _L.MaxPooling2D(2, name='reduce_pool')(x)
  x = _L.Concatenate(name='reduce_concat')([r, p])
  x = _inception_module(x, 2 * width, 'mixed_b')
  return keras.Model(inputs, _head(x, name, flatten=True), name=name)


def _separable(x, filters, strides, name):
  # No batch norm: it tripled the CPU training time of this net.
  # He init by hand: Keras counts a depthwise kernel's fan-in as 9 * C, not
  # 9, and its 'he_normal' starves the net.
  x = _L.DepthwiseConv2D(
      3, strides=strides, padding='same',
      depthwise_initializer=keras.initializers.RandomNormal(
          stddev=(2 / 9)**0.5),
      name=f'{name}_dw')(x)
  x = _L.Activation('relu', name=f'{name}_dw_relu')(x)
  return _conv_bn(x, filters, 1, f'{name}_pw', bn=False)


def mobilenet(width=16, name='mobilenet'):
  """MobileNet-v1 style: depthwise 3x3 + pointwise 1x1 blocks."""
  inputs = keras.Input(INPUT_SHAPE, name='input')
  x = _conv_bn(inputs, width, 3, 'stem', strides=2, bn=False)
  plan = ((2 * width, 1), (4 * width, 1), (4 * width, 2), (8 * width, 1),
          (8 * width, 1))
  for i, (filters, strides) in enumerate(plan, start=1):
    x = _separable(x, filters, strides, f'sep{i}')
  # Without dropout it overfit (train loss 0.13, test accuracy 89.98%).
  return keras.Model(inputs, _head(x, name, flatten=True, dropout=0.3),
                     name=name)


def mlp(width=256, name='mlp'):
  """Two hidden layers; a static model unlike any convnet in the zoo."""
  inputs = keras.Input(INPUT_SHAPE, name='input')
  x = _L.Flatten(name='flatten')(inputs)
  x = _L.Dense(width, activation='relu', name='fc1')(x)
  x = _L.Dense(width // 2, activation='relu', name='fc2')(x)
  return keras.Model(inputs, _L.Dense(NUM_CLASSES, name='logits')(x),
                     name=name)


@dataclasses.dataclass(frozen=True)
class Spec:
  """One model of the zoo.

  Attributes:
    name: the model's name and weights file stem.
    build: zero-argument builder.
    feature_layer: FIA's mid-level layer.
    role: ``'normal'``, ``'static'`` or ``'defence'``.
    depth_layers: layers from shallow to deep for the depth ablation.
    static: for defences, the static models lending FGSM examples.
    seed: training seed.
    epochs: training epochs.
  """
  name: str
  build: Callable[[], keras.Model]
  feature_layer: str
  role: str = 'normal'
  depth_layers: Tuple[str, ...] = ()
  static: Tuple[str, ...] = ()
  seed: int = 0
  epochs: int = 6

  @property
  def cam_layer(self):
    """Grad-CAM's layer: the deepest listed conv layer, as usual."""
    return self.depth_layers[-1] if self.depth_layers else self.feature_layer


SPECS = (
    Spec('vgg', vgg, 'block2_conv2_relu', seed=1,
         depth_layers=('block1_conv1_relu', 'block2_conv1_relu',
                       'block2_conv2_relu',
                       'block3_conv1_relu', 'block3_conv2_relu')),
    Spec('resnet_v1', resnet_v1, 'block2_unit1_out', seed=2,
         depth_layers=('stem_relu', 'block1_unit1_out', 'block2_unit1_out',
                       'block3_unit1_out')),
    Spec('resnet_v2', resnet_v2, 'block2_unit1_out', seed=3,
         depth_layers=('stem_conv', 'block1_unit1_out', 'block2_unit1_out',
                       'block3_unit1_out')),
    Spec('inception', inception, 'mixed_a_concat', seed=4,
         depth_layers=('stem_a_relu', 'mixed_a_concat', 'reduce_concat',
                       'mixed_b_concat')),
    Spec('mobilenet', mobilenet, 'sep2_pw_relu', seed=5, epochs=8,
         depth_layers=('stem_relu', 'sep1_pw_relu', 'sep2_pw_relu',
                       'sep3_pw_relu', 'sep4_pw_relu', 'sep5_pw_relu')),
    # Static models: never sources, never targets.
    Spec('static_vgg', lambda: vgg(12, name='static_vgg'),
         'block2_conv2_relu', role='static', seed=11, epochs=2),
    Spec('static_mlp', lambda: mlp(name='static_mlp'), 'fc1', role='static',
         seed=12, epochs=2),
    Spec('static_resnet_v2', lambda: resnet_v2(12, name='static_resnet_v2'),
         'block2_unit1_out', role='static', seed=13, epochs=2),
    # Defences: ensemble adversarial training, like ens3/ens4-adv-Inc-v3.
    Spec('ens3_adv_inception', lambda: inception(name='ens3_adv_inception'),
         'mixed_a_concat', role='defence', seed=21,
         static=('static_vgg', 'static_mlp')),
    Spec('ens4_adv_inception', lambda: inception(name='ens4_adv_inception'),
         'mixed_a_concat', role='defence', seed=22,
         static=('static_vgg', 'static_mlp', 'static_resnet_v2')),
)
BY_NAME = {spec.name: spec for spec in SPECS}


def specs(role=None):
  """Specs of one role (``None``: all), in zoo order."""
  return [s for s in SPECS if role is None or s.role == role]


def spec(name):
  if name not in BY_NAME:
    raise ValueError(f'unknown mini-zoo model {name!r}; known: '
                     f'{sorted(BY_NAME)}')
  return BY_NAME[name]


def weights_path(name, model_dir=MODEL_DIR):
  return pathlib.Path(model_dir) / f'{name}.weights.h5'


def build(name):
  """An untrained model of the zoo."""
  return spec(name).build()


def load(name, model_dir=MODEL_DIR):
  """A zoo model with its committed weights.

  Raises:
    FileNotFoundError: when the weights file is missing (says how to train).
  """
  path = weights_path(name, model_dir)
  if not path.is_file():
    raise FileNotFoundError(
        f'{path}: no weights for mini-zoo model {name!r}; train the zoo with '
        '`make train-mini`')
  model = build(name)
  model.load_weights(path)
  return model


def source(name, model=None, model_dir=MODEL_DIR, feature_layer=None):
  """A :class:`fia_tf.SourceModel` for a zoo model (loaded if not given)."""
  model = load(name, model_dir) if model is None else model
  return source_lib.SourceModel(
      model=model, feature_layer=feature_layer or spec(name).feature_layer,
      name=name, **preprocessing.source_kwargs(PREPROCESS))


def recorded_accuracy(model_dir=MODEL_DIR):
  """The accuracies written by training: ``{name: {...}}``."""
  with open(pathlib.Path(model_dir) / 'accuracy.json') as f:
    return json.load(f)
