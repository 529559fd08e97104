"""The tiny zoo: small random-weight slim-style nets for tests and dry runs.

:func:`tiny_net` is a net of a few thousand weights built from the same
helpers and naming as the real zoo nets. :data:`SPECS` are three registry
entries of it at 24-32 pixels, shaped like the real zoo's two data
contracts (Inception: 1001 classes, [-1, 1] input; VGG: 1000 classes, mean
subtraction, label offset -1), one a stand-in "defended" target.
:func:`write_tiny_checkpoints` writes slim checkpoints with golden-formula
weights (one salt per model), so the whole attack -> evaluate -> table path
runs through the real checkpoint loader in seconds on a CPU.

Importing the module registers nothing. The binaries take it as a plugin,
``--model_module=fia_tf.zoo.tiny`` (:mod:`fia_tf.zoo.plugins` registers
:data:`SPECS`); tests use ``with registry.registered(*tiny.SPECS):``.
"""

import os
import pathlib

import keras

from fia_tf.zoo import checkpoint as checkpoint_lib
from fia_tf.zoo import layers
from fia_tf.zoo import registry
from fia_tf.zoo import testing

# name: (input size, num classes, label offset, preprocessing, weight salt)
_TINY = {
    'tiny_inception': (32, 1001, 0, 'inception', 11),
    'tiny_vgg': (24, 1000, -1, 'vgg', 12),
    'tiny_adv_inception': (32, 1001, 0, 'inception', 13),
}
TINY_MODELS = tuple(_TINY)
TINY_NORMAL = ('tiny_inception', 'tiny_vgg')
TINY_DEFENDED = ('tiny_adv_inception',)


def tiny_spec(name):
  """The :class:`fia_tf.zoo.ModelSpec` of tiny-zoo model ``name``."""
  size, classes, offset, prep, _ = _TINY[name]
  return registry.ModelSpec(
      name=name, builder='fia_tf.zoo.tiny:tiny_net', scope='tiny_net',
      input_size=size, num_classes=classes, label_offset=offset,
      preprocessing=prep, default_layer='tiny_net/block/Relu',
      checkpoint=f'{name}.ckpt', tarball=f'{name}.tar.gz',
      description=f'tiny test net ({size}px, {classes} classes, random '
                  'weights)')


SPECS = tuple(tiny_spec(name) for name in _TINY)
_SPECS_BY_NAME = {spec.name: spec for spec in SPECS}


def write_tiny_checkpoints(root, names=TINY_MODELS):
  """Writes random-weight slim checkpoints of tiny-zoo models under ``root``.

  Weights follow :func:`fia_tf.zoo.testing.golden_value` with one salt per
  model, so they are identical on every machine. Existing checkpoints are
  kept.

  Returns:
    ``root`` as a :class:`pathlib.Path`.
  """
  root = pathlib.Path(root)
  for name in names:
    spec = _SPECS_BY_NAME.get(name) or registry.get_spec(name)
    try:
      spec.find_checkpoint(root)
      continue
    except registry.CheckpointNotFoundError:
      pass
    model = spec.build()
    shapes = [(n, w.shape) for n, w in
              checkpoint_lib.model_variables(model).items()]
    values = testing.golden_weights(shapes, salt=_TINY[name][4])
    directory = spec.checkpoint_dir(root)
    directory.mkdir(parents=True, exist_ok=True)
    # Written under a temporary prefix and renamed, so that an interrupted
    # call never leaves a checkpoint that looks complete.
    tmp = directory / f'.{spec.checkpoint}.tmp'
    testing.write_slim_checkpoint(tmp, values)
    for part in sorted(directory.glob(f'.{spec.checkpoint}.tmp*')):
      suffix = part.name[len(tmp.name):]
      if suffix != '.index':
        os.replace(part, directory / (spec.checkpoint + suffix))
    os.replace(str(tmp) + '.index', directory / (spec.checkpoint + '.index'))
  return root


def tiny_net(num_classes=10, input_shape=(16, 16, 3), scope='tiny_net'):
  """A small slim-style net for fast loader and registry tests.

  It uses the same helpers and naming as the real zoo nets: a conv with
  BatchNorm (scale=True), a strided ``conv2d_same``, a residual ``add``,
  a global mean and 1x1 logits with a spatial squeeze.
  """
  bn = {'epsilon': 1e-5, 'scale': True}
  inputs = keras.Input(shape=input_shape, name='input')
  x = layers.conv2d(inputs, 8, 3, f'{scope}/conv1', normalizer=bn)
  y = layers.conv2d_same(x, 8, 3, 2, f'{scope}/block/conv2', normalizer=bn)
  s = layers.max_pool2d(x, 1, f'{scope}/block/shortcut', stride=2,
                        padding='SAME')
  x = layers.activation(layers.add([s, y], f'{scope}/block'),
                        f'{scope}/block')
  x = layers.reduce_mean_keepdims(x, f'{scope}/pool5')
  x = layers.conv2d(x, num_classes, 1, f'{scope}/logits', activation_fn=None)
  logits = layers.spatial_squeeze(x, f'{scope}/SpatialSqueeze')
  return keras.Model(inputs, logits, name=scope)


def tiny_net_end_points(scope='tiny_net'):
  """End points of :func:`tiny_net` (slim-style name -> layer name)."""
  return {f'{scope}/conv1': f'{scope}.conv1.Relu',
          f'{scope}/block': f'{scope}.block.Relu',
          f'{scope}/logits': f'{scope}.logits'}


def end_points(scope='tiny_net'):
  """Registry hook: the end points of :func:`tiny_net`."""
  return tiny_net_end_points(scope)
