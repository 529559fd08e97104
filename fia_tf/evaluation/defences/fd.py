"""Feature distillation (FD; Liu et al., CVPR 2019, "Feature Distillation:
DNN-Oriented JPEG Compression Against Adversarial Examples").

FD is JPEG's lossy core with a quantisation table designed for a DNN
instead of the human eye: low frequencies, which carry what the classifier
needs (the paper's "accuracy-sensitive" band), get a finer step than the
high frequencies, where adversarial perturbations concentrate (the
"malicious-defensive" band). As in the authors' released code
(``utils/feature_distillation.py`` of their repository), per image:

1. each RGB channel (no colour conversion, no level shift) is cut into 8x8
   blocks;
2. orthonormal 2-D DCT-II of every block;
3. quantisation ``round(c / Q) * Q`` with ``Q = 25`` on the 16 lowest
   frequencies (the 4x4 upper-left corner, ``u, v < 4``) and ``Q = 30`` on
   the other 48;
4. inverse DCT; the result is clipped to 0..255 (not rounded: the authors
   feed the float result to the model).

Sizes that are not multiples of 8 (299) are padded by edge repetition and
cropped back (the authors' code takes multiples of 8 only).
"""

import numpy as np

from fia_tf.evaluation.defences import base

LOW_STEP, HIGH_STEP = 25, 30
BLOCK = 8
LOW_BAND = 4  # the accuracy-sensitive band: u < 4 and v < 4


def quantisation_table(high_step=HIGH_STEP, low_step=LOW_STEP):
  """The 8x8 FD quantisation steps ``Q[u, v]`` (``u``: vertical frequency)."""
  table = np.full((BLOCK, BLOCK), float(high_step))
  table[:LOW_BAND, :LOW_BAND] = low_step
  return table


def dct_matrix():
  """Orthonormal DCT-II matrix ``D``: coefficients = ``D @ block @ D.T``."""
  k = np.arange(BLOCK)[:, None]
  n = np.arange(BLOCK)[None, :]
  d = np.sqrt(2.0 / BLOCK) * np.cos((2 * n + 1) * k * np.pi / (2 * BLOCK))
  d[0] /= np.sqrt(2.0)
  return d


def quantise_planes(planes, table):
  """DCT, quantise, IDCT of every 8x8 block of ``[B, H, W, C]`` planes
  (H and W multiples of 8)."""
  b, h, w, c = planes.shape
  blocks = planes.reshape(b, h // BLOCK, BLOCK, w // BLOCK, BLOCK, c)
  blocks = blocks.transpose(0, 1, 3, 5, 2, 4)  # [B, H/8, W/8, C, 8, 8]
  d = dct_matrix()
  steps = np.asarray(table, np.float64)
  coefficients = np.round((d @ blocks @ d.T) / steps) * steps
  blocks = d.T @ coefficients @ d
  return blocks.transpose(0, 1, 4, 2, 5, 3).reshape(b, h, w, c)


class FeatureDistillation(base.Defence):
  """FD's DNN-oriented JPEG quantisation.

  Args:
    high_step: the high-frequency band's step, an integer in 1..255
      (default 30; the low band keeps step 25).

  Raises:
    ValueError: naming a step outside 1..255.
  """
  kind = 'fd'
  version = 2

  def __init__(self, high_step=HIGH_STEP):
    if isinstance(high_step, bool) or not isinstance(
        high_step, (int, np.integer)) or not 1 <= high_step <= 255:
      raise ValueError(f'FD high-band step must be an integer in 1..255, '
                       f'got {high_step!r} (e.g. fd30)')
    self.high_step = int(high_step)
    self.table = quantisation_table(self.high_step)

  @property
  def spec(self):
    return 'fd' if self.high_step == HIGH_STEP else f'fd{self.high_step}'

  def _apply(self, images):
    _, h, w, _ = images.shape
    padded = np.pad(images.astype(np.float64),
                    [(0, 0), (0, -h % BLOCK), (0, -w % BLOCK), (0, 0)],
                    mode='edge')
    return quantise_planes(padded, self.table)[:, :h, :w]
