"""Registry entries and checkpoints of the tiny test net."""

from fia_tf.zoo import checkpoint
from fia_tf.zoo import registry
from fia_tf.zoo import testing


def tiny_spec(**overrides):
  """A registry entry backed by :func:`fia_tf.zoo.tiny.tiny_net` (fast to build)."""
  fields = dict(name='tiny_net', builder='fia_tf.zoo.tiny:tiny_net',
                scope='tiny_net', input_size=16, num_classes=10,
                label_offset=-1, preprocessing='vgg',
                default_layer='tiny_net/block/Relu',
                checkpoint='tiny_net.ckpt', tarball='tiny_net.tar.gz',
                renamed_scope='AdvTinyNet')
  fields.update(overrides)
  return registry.ModelSpec(**fields)


def write_tiny_checkpoint(spec, root, renamed=False):
  """Slim checkpoint (salt 3) of ``spec`` under ``root``; returns its values."""
  model = spec.build()
  shapes = [(n, w.shape) for n, w in checkpoint.model_variables(model).items()]
  values = testing.golden_weights(shapes, salt=3)
  directory = spec.checkpoint_dir(root)
  directory.mkdir(parents=True, exist_ok=True)
  if renamed:
    values = {n.replace(spec.scope, spec.renamed_scope, 1): v
              for n, v in values.items()}
    testing.write_slim_checkpoint(directory / f'{spec.name}_rename.ckpt',
                                  values)
  else:
    testing.write_slim_checkpoint(directory / spec.checkpoint, values)
  return values
