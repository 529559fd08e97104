"""Random resize and pad (R&P; Xie et al., ICLR 2018, "Mitigating
Adversarial Effects Through Randomization").

For Inception's 299 x 299 input, each image is resized (nearest neighbour)
to a random ``rnd x rnd`` with ``rnd`` uniform in ``[299, 331)``, then
placed at a random offset on a 331 x 331 canvas, the rest filled with grey.
Other input sizes ``s`` scale the ranges: ``rnd`` in ``[s, S)`` on an
``S x S`` canvas with ``S = round(s * 331 / 299)`` (248 for 224).

* Fill: 127.5, the pixel value of the zero the authors' code pads with
  (their defence runs on Inception inputs in [-1, 1]).
* Offsets: top and left uniform over every placement, ``0..S - rnd``.
* Randomness: one keyed draw per image (:mod:`fia_tf.attacks.rng`, purpose
  :data:`RP_PURPOSE`) from ``seed`` and the image's content, so the same
  image gets the same size and offset in any batch, order or run.
* A target with a fixed input smaller than the canvas (every slim model)
  gets the canvas resized back to its input by the evaluation's one filter;
  a target that takes any size gets the canvas as is.
"""

import numpy as np
import tensorflow as tf

from fia_tf.attacks import rng
from fia_tf.evaluation.defences import base

# The last purpose number: attack parts claim from the low end upwards.
RP_PURPOSE = rng.claim(15, 'R&P defence: size and offsets')
FILL = 127.5
INCEPTION_INPUT, INCEPTION_CANVAS = 299, 331


def canvas_size(size):
  """The canvas for ``size x size`` inputs: 331 for 299, 248 for 224."""
  return int(round(size * INCEPTION_CANVAS / INCEPTION_INPUT))


def draws(images, canvas, seed=0):
  """Per image ``(rnd, top, left)``: int arrays ``[B]``, keyed by content."""
  size = images.shape[1]
  ids = rng.content_ids(tf.convert_to_tensor(images, tf.float32))
  u = rng.uniform(rng.keys(seed, RP_PURPOSE, 0, ids), [3]).numpy()
  u = u.astype(np.float64)
  rnd = size + np.floor(u[:, 0] * (canvas - size)).astype(np.int64)
  room = canvas - rnd
  top = np.floor(u[:, 1] * (room + 1)).astype(np.int64)
  left = np.floor(u[:, 2] * (room + 1)).astype(np.int64)
  return rnd, top, left


class ResizePad(base.Defence):
  """Random resize and pad.

  Args:
    canvas: output side (default: from the input size, 331 for 299);
      must exceed the input side.
    seed: the stream of the random sizes and offsets.

  Raises:
    ValueError: naming a canvas or seed that cannot be used, or non-square
      images.
  """
  kind = 'rp'

  def __init__(self, canvas=None, seed=0):
    if canvas is not None and (isinstance(canvas, bool) or not isinstance(
        canvas, (int, np.integer)) or canvas < 2):
      raise ValueError(f'R&P canvas must be an integer >= 2, got '
                       f'{canvas!r} (e.g. rp331, or rp for the default)')
    if isinstance(seed, bool) or not isinstance(
        seed, (int, np.integer)) or not 0 <= seed < 2**38:
      raise ValueError(f'R&P seed must be an integer in [0, 2**38), got '
                       f'{seed!r}')
    self.canvas = None if canvas is None else int(canvas)
    self.seed = int(seed)

  @property
  def spec(self):
    return 'rp' if self.canvas is None else f'rp{self.canvas}'

  def fingerprint(self):
    return f'{super().fingerprint()}:seed{self.seed}'

  def canvas_for(self, size):
    canvas = self.canvas or canvas_size(size)
    if canvas <= size:
      raise ValueError(f'R&P canvas {canvas} must exceed the image size '
                       f'{size}; give a larger rp<canvas>')
    return canvas

  def _apply(self, images):
    _, h, w, _ = images.shape
    if h != w:
      raise ValueError(f'R&P takes square images, got {h} x {w}')
    canvas = self.canvas_for(h)
    rnd, top, left = draws(images, canvas, self.seed)
    out = np.full((len(images), canvas, canvas, 3), FILL, np.float32)
    for i, image in enumerate(images):
      resized = tf.image.resize(image, [int(rnd[i])] * 2,
                                method='nearest').numpy()
      out[i, top[i]:top[i] + rnd[i], left[i]:left[i] + rnd[i]] = resized
    return out
