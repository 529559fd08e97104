"""Per-image counter-based randomness, identical on every backend.

Every random draw is keyed by ``(seed, purpose, counter, image id)``, so the
draws for image ``k`` do not depend on the batch it sits in, its position, the
number of devices or a resume point.

TensorFlow's ``tf.random.stateless_*`` ops are not used: their Philox streams
differ between the CPU kernels and XLA (checked with TF 2.21), so results
would change with the ``jit_compile`` switch or the device. Instead each value
is a hash of (key, element index) built from 32-bit integer ops, which give
the same bits under plain TF, XLA, CPU and GPU, and vectorise over a batch of
keys with no per-key loop.

A key is an int64 pair ``[seed * 2**24 + purpose * 2**20 + counter, image_id]``
(one-to-one for ``seed < 2**38``, ``purpose < 16``, ``counter < 2**20``).
"""

import math

import numpy as np
import tensorflow as tf

# Purposes: one independent stream family per kind of draw.
MASK = 1        # FIA's Bernoulli masks; counter = mask index
MASK_DI = 2     # DI applied to FIA's masked copies; counter = mask index
DI = 3          # DI in the attack iterations; counter = iteration
NRDM_INIT = 4   # NRDM's initial noise; counter = 0
_MAX_PURPOSE = 16
PURPOSES = {MASK: "FIA's masks", MASK_DI: "DI of FIA's masked copies",
            DI: 'DI in the iterations', NRDM_INIT: "NRDM's initial noise"}


def claim(purpose, description):
  """Reserves purpose number ``purpose`` for a part's draws.

  A new part that draws randomness claims a free number when its module is
  imported, so that its stream never coincides with another part's.

  Returns:
    ``purpose``.

  Raises:
    ValueError: for a number outside 1..15 or one claimed for something
      else.
  """
  if not isinstance(purpose, int) or not 0 < purpose < _MAX_PURPOSE:
    raise ValueError(f'purpose must be an integer in 1..{_MAX_PURPOSE - 1}, '
                     f'got {purpose!r}')
  taken = PURPOSES.get(purpose)
  if taken is not None and taken != description:
    free = [p for p in range(1, _MAX_PURPOSE) if p not in PURPOSES]
    raise ValueError(f'rng purpose {purpose} is taken by {taken!r}; free: '
                     f'{free}')
  PURPOSES[purpose] = description
  return purpose


def keys(seed, purpose, counter, image_ids):
  """Keys for a batch of draws.

  Args:
    seed: Python int, the attack seed.
    purpose: one of the module constants.
    counter: int or int tensor broadcastable to ``image_ids``.
    image_ids: int tensor ``[K]``, the image id of each draw.

  Returns:
    int64 tensor ``[K, 2]``.
  """
  image_ids = tf.cast(image_ids, tf.int64)
  counter = tf.cast(counter, tf.int64) + tf.zeros_like(image_ids)
  first = tf.constant(seed * 2**24 + purpose * 2**20, tf.int64) + counter
  return tf.stack([first, image_ids], axis=1)


def _u32(value):
  return tf.constant(value, tf.uint32)


def _mix(x):
  """A 32-bit integer finaliser (bijective, good avalanche: "lowbias32")."""
  x = x ^ tf.bitwise.right_shift(x, _u32(16))
  x = x * _u32(0x7FEB352D)
  x = x ^ tf.bitwise.right_shift(x, _u32(15))
  x = x * _u32(0x846CA68B)
  return x ^ tf.bitwise.right_shift(x, _u32(16))


def _key_words(keys_):
  """Two 32-bit stream selectors per key (64 bits, so collisions are ~2**-64)."""
  words = tf.bitcast(tf.cast(keys_, tf.int64), tf.uint32)  # [K, 2, 2]
  words = tf.reshape(words, [-1, 4])
  w0, w1, w2, w3 = tf.unstack(words, axis=1)
  a = _mix(w0 ^ _mix(w1 ^ _mix(w2 ^ _mix(w3 ^ _u32(0x9E3779B9)))))
  b = _mix(w3 ^ _mix(w2 ^ _mix(w1 ^ _mix(w0 ^ _u32(0x85EBCA6B)))))
  return a[:, None], b[:, None]


def bits(keys_, count):
  """``count`` uint32 values per key: ``[K, count]``."""
  a, b = _key_words(keys_)
  index = tf.cast(tf.range(count, dtype=tf.int32), tf.uint32)[None, :]
  return _mix(_mix(index ^ a) + b)


def uniform(keys_, shape):
  """Uniform float32 in [0, 1) (24-bit resolution), ``[K, *shape]``."""
  count = int(np.prod(shape))
  values = tf.cast(tf.bitwise.right_shift(bits(keys_, count), _u32(8)),
                   tf.float32) * (1.0 / 2**24)
  return tf.reshape(values, tf.concat([[-1], shape], 0))


def normal(keys_, shape):
  """Standard normal float32 (Box-Muller), ``[K, *shape]``."""
  count = int(np.prod(shape))
  u = uniform(keys_, [2, count])
  radius = tf.sqrt(-2.0 * tf.math.log(1.0 - u[:, 0]))
  values = radius * tf.cos(2.0 * math.pi * u[:, 1])
  return tf.reshape(values, tf.concat([[-1], shape], 0))


def content_ids(images):
  """Image ids derived from pixel content (farmhash64 of each image's bytes).

  Used when the caller gives no ids: identical images get identical noise,
  and the result does not depend on batch composition or order.
  """
  flat = tf.reshape(tf.cast(images, tf.float32), [tf.shape(images)[0], -1])
  return tf.bitcast(tf.fingerprint(flat), tf.int64)
