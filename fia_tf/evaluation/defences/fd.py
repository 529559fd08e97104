"""Feature distillation (FD; Liu et al., CVPR 2019, "Feature Distillation:
DNN-Oriented JPEG Compression Against Adversarial Examples").

FD is JPEG's lossy core with a quantisation table designed for a DNN
instead of the human eye. Steps, per image:

1. RGB -> YCbCr (JFIF, full range), no chroma subsampling;
2. each channel shifted by -128 and cut into 8x8 blocks (edges padded by
   repetition up to a multiple of 8, cropped again at the end);
3. orthonormal 2-D DCT-II of every block;
4. quantisation ``round(c / Q) * Q`` with one table ``Q`` for all three
   channels: the 15 lowest frequencies (``u + v <= 4``, the upper-left
   triangle of the zig-zag order: the paper's "accuracy-sensitive" band)
   get step 1, every other frequency (the "malicious-defensive" band, where
   adversarial perturbations concentrate) step ``1 + qs``;
5. inverse DCT, +128, back to RGB, rounded to 8 bits as a decoder does.

``qs`` (default 40, giving steps 1 and 41) follows the authors' design of a
near-lossless band-1 step and a large band-2 step; it is the table at JPEG
quality 50, where the standard quality scaling leaves an integer table
unchanged.
"""

import numpy as np

from fia_tf.evaluation.defences import base

DEFAULT_QS = 40
BLOCK = 8
# Frequencies u + v below this are the accuracy-sensitive band.
_BAND_LIMIT = 5


def quantisation_table(qs=DEFAULT_QS):
  """The 8x8 FD quantisation steps ``Q[u, v]`` (``u``: vertical frequency)."""
  u, v = np.meshgrid(np.arange(BLOCK), np.arange(BLOCK), indexing='ij')
  return np.where(u + v < _BAND_LIMIT, 1.0, 1.0 + qs)


def dct_matrix():
  """Orthonormal DCT-II matrix ``D``: coefficients = ``D @ block @ D.T``."""
  k = np.arange(BLOCK)[:, None]
  n = np.arange(BLOCK)[None, :]
  d = np.sqrt(2.0 / BLOCK) * np.cos((2 * n + 1) * k * np.pi / (2 * BLOCK))
  d[0] /= np.sqrt(2.0)
  return d


_TO_YCBCR = np.array([[0.299, 0.587, 0.114],
                      [-0.168736, -0.331264, 0.5],
                      [0.5, -0.418688, -0.081312]])
_TO_RGB = np.array([[1.0, 0.0, 1.402],
                    [1.0, -0.344136, -0.714136],
                    [1.0, 1.772, 0.0]])
_CHROMA = np.array([0.0, 128.0, 128.0])


def rgb_to_ycbcr(images):
  return images @ _TO_YCBCR.T + _CHROMA


def ycbcr_to_rgb(images):
  return (images - _CHROMA) @ _TO_RGB.T


def quantise_planes(planes, table):
  """DCT-quantise-IDCT of ``[B, H, W, C]`` planes (H, W multiples of 8),
  already shifted to be centred on 0."""
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
    qs: the high-frequency band's extra step (its step is ``1 + qs``), an
      integer in 1..254.

  Raises:
    ValueError: naming a ``qs`` outside 1..254.
  """
  kind = 'fd'

  def __init__(self, qs=DEFAULT_QS):
    if isinstance(qs, bool) or not isinstance(
        qs, (int, np.integer)) or not 1 <= qs <= 254:
      raise ValueError(f'FD band step qs must be an integer in 1..254, got '
                       f'{qs!r} (e.g. fd40)')
    self.qs = int(qs)
    self.table = quantisation_table(self.qs)

  @property
  def spec(self):
    return 'fd' if self.qs == DEFAULT_QS else f'fd{self.qs}'

  def _apply(self, images):
    _, h, w, _ = images.shape
    ycbcr = rgb_to_ycbcr(base.to_uint8(images).astype(np.float64))
    pad_h, pad_w = -h % BLOCK, -w % BLOCK
    ycbcr = np.pad(ycbcr, [(0, 0), (0, pad_h), (0, pad_w), (0, 0)],
                   mode='edge')
    out = quantise_planes(ycbcr - 128.0, self.table) + 128.0
    rgb = ycbcr_to_rgb(out[:, :h, :w])
    return base.to_uint8(rgb).astype(np.float32)
