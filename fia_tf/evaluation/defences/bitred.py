"""Bit-depth reduction (Bit-Red; Xu et al., NDSS 2018, "Feature Squeezing").

Each colour value ``x`` in 0..255 is squeezed to ``bits`` bits:
``round(x / 255 * (2**bits - 1)) * 255 / (2**bits - 1)``, i.e. ``2**bits``
evenly spaced levels that keep 0 and 255.

The default is 4 bits (16 levels, 17 apart): the stronger of the two
ImageNet settings Xu et al. consider; their ImageNet detector uses the
milder 5 bits, which keeps clean accuracy closer to the unsqueezed model
(give ``bitred5`` for it). With 4 bits a perturbation of eps 16 spans about
one level, so the squeezer can undo part of it.
"""

import numpy as np

from fia_tf.evaluation.defences import base

DEFAULT_BITS = 4


class BitDepth(base.Defence):
  """Bit-depth reduction to ``bits`` bits per colour channel.

  Args:
    bits: an integer in 1..8.

  Raises:
    ValueError: naming a bit depth outside 1..8.
  """
  kind = 'bitred'

  def __init__(self, bits=DEFAULT_BITS):
    if isinstance(bits, bool) or not isinstance(
        bits, (int, np.integer)) or not 1 <= bits <= 8:
      raise ValueError(f'bit depth must be an integer in 1..8, got {bits!r} '
                       '(e.g. bitred4)')
    self.bits = int(bits)

  @property
  def spec(self):
    return f'bitred{self.bits}'

  def _apply(self, images):
    levels = 2.0**self.bits - 1.0
    return np.round(images * (levels / 255.0)) * (255.0 / levels)
