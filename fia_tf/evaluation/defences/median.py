"""Median smoothing (Xu et al., NDSS 2018, "Feature Squeezing").

Each colour channel is replaced by its median over a ``window x window``
neighbourhood, with the image extended by mirroring at the borders (edge
pixel repeated: SciPy's ``mode='reflect'``). For an even window the
neighbourhood of pixel ``i`` spans ``i - window // 2 .. i + window // 2 - 1``
and the median is the upper of the two middle values, as
``scipy.ndimage.median_filter`` defines them (Xu et al.'s ImageNet squeezer
is the 2x2 one, ``median2``).

The default window is 3: the smallest centred window (no half-pixel
shift, unlike 2x2).
"""

import numpy as np

from fia_tf.evaluation.defences import base

DEFAULT_WINDOW = 3


class Median(base.Defence):
  """Median filter over a square window, per channel.

  Args:
    window: window side, an integer in 2..15.

  Raises:
    ValueError: naming a window outside 2..15.
  """
  kind = 'median'

  def __init__(self, window=DEFAULT_WINDOW):
    if isinstance(window, bool) or not isinstance(
        window, (int, np.integer)) or not 2 <= window <= 15:
      raise ValueError(f'median window must be an integer in 2..15, got '
                       f'{window!r} (e.g. median3)')
    self.window = int(window)

  @property
  def spec(self):
    return f'median{self.window}'

  def _apply(self, images):
    k = self.window
    before, after = k // 2, k - 1 - k // 2
    padded = np.pad(images, [(0, 0), (before, after), (before, after),
                             (0, 0)], mode='symmetric')
    windows = np.lib.stride_tricks.sliding_window_view(
        padded, (k, k), axis=(1, 2))           # [B, H, W, C, k, k]
    flat = windows.reshape(windows.shape[:4] + (k * k,))
    rank = (k * k) // 2
    return np.partition(flat, rank, axis=-1)[..., rank]
