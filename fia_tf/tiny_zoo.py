"""The tiny zoo: small random-weight slim-style nets for tests and dry runs.

Three nets of a few thousand weights at 24-32 pixels
(:func:`fia_tf.zoo.testing.tiny_net`), shaped like the real zoo's two data
contracts (Inception: 1001 classes, [-1, 1] input; VGG: 1000 classes, mean
subtraction, label offset -1), one of them a stand-in "defended" target.
:func:`write_tiny_checkpoints` writes slim checkpoints with golden-formula
weights (one salt per model), so the whole attack -> evaluate -> table path
runs through the real checkpoint loader in seconds on a CPU.

Importing this module registers the nets, so the binaries accept them with
``--model_module=fia_tf.tiny_zoo``.
"""

import os
import pathlib

from fia_tf import extra_models
from fia_tf.zoo import checkpoint as checkpoint_lib
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
      name=name, builder='fia_tf.zoo.testing:tiny_net', scope='tiny_net',
      input_size=size, num_classes=classes, label_offset=offset,
      preprocessing=prep, default_layer='tiny_net/block/Relu',
      checkpoint=f'{name}.ckpt', tarball=f'{name}.tar.gz',
      description=f'tiny test net ({size}px, {classes} classes, random '
                  'weights)')


def register_tiny_zoo():
  """Registers the tiny zoo (idempotent); returns the names."""
  for name in _TINY:
    extra_models.register(tiny_spec(name))
  return TINY_MODELS


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
    spec = registry.get_spec(name)
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


register_tiny_zoo()
