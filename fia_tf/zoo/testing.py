"""Test utilities: slim-format checkpoints with deterministic weights.

The golden reference data (``tests/data/golden``) was produced by the
original TF1/slim code with weights from :func:`golden_weights`; writing
those weights with :func:`write_slim_checkpoint` and loading them through
:func:`fia_tf.zoo.checkpoint.load_slim_checkpoint` exercises the real loading
path end to end.
"""

import zlib

import numpy as np
import tensorflow as tf

SALT = 0
HOLDOUT_SALT = 0x5EED


def golden_value(name, shape, salt=SALT):
  """The deterministic float32 value of checkpoint variable ``name``.

  Args:
    name: checkpoint variable name (no ``:0``).
    shape: its shape.
    salt: XORed into the per-variable seed (0 for the shared golden data).

  Returns:
    A float32 ``np.ndarray`` of ``shape``.

  Raises:
    ValueError: for a variable whose leaf name has no formula.
  """
  shape = tuple(int(d) for d in shape)
  rng = np.random.default_rng(zlib.crc32(name.encode('utf-8')) ^ salt)
  leaf = name.rpartition('/')[2]
  if leaf == 'weights':
    fan_in = int(np.prod(shape[:-1]))
    value = rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)
  elif leaf == 'biases':
    value = rng.standard_normal(shape) * 0.01
  elif leaf == 'beta':
    value = rng.standard_normal(shape) * 0.1
  elif leaf == 'gamma':
    value = 1.0 + rng.standard_normal(shape) * 0.1
  elif leaf == 'moving_mean':
    value = rng.standard_normal(shape) * 0.1
  elif leaf == 'moving_variance':
    value = 1.0 + rng.uniform(0.0, 0.5, shape)
  else:
    raise ValueError(f'no golden formula for variable {name!r}')
  return np.asarray(value, dtype=np.float64).astype(np.float32)


def golden_weights(manifest_variables, salt=SALT):
  """Deterministic weights for every variable of a golden manifest.

  Args:
    manifest_variables: iterable of ``(name, shape)`` pairs, e.g. the
      ``variables`` list of ``manifests/<net>.json``.
    salt: seed salt (0 shared, 0x5EED held out).

  Returns:
    dict from variable name to float32 array.
  """
  return {name: golden_value(name, shape, salt)
          for name, shape in manifest_variables}


def weight_checksum(value):
  """``[sum, sum_of_squares, first, last]`` as in ``weights_check.json``."""
  flat = np.asarray(value, np.float32).ravel()
  as64 = flat.astype(np.float64)
  return [float(as64.sum()), float((as64 * as64).sum()), float(flat[0]),
          float(flat[-1])]


def write_slim_checkpoint(path, variables):
  """Writes a TF checkpoint (V2 format) holding ``variables`` by name.

  The result reads like a checkpoint saved by ``tf.compat.v1.train.Saver``
  from a slim graph: ``tf.train.load_checkpoint(path)`` lists exactly these
  names.

  Args:
    path: checkpoint prefix, e.g. ``/tmp/vgg_16.ckpt`` (creates
      ``.index`` and ``.data-00000-of-00001`` next to it).
    variables: dict from variable name to array.

  Returns:
    ``path``.
  """
  names_list = sorted(variables)
  tensors = [tf.convert_to_tensor(variables[n]) for n in names_list]
  tf.raw_ops.SaveV2(prefix=str(path), tensor_names=names_list,
                    shape_and_slices=[''] * len(names_list), tensors=tensors)
  return str(path)
