"""JPEG compression (Dziugaite et al. 2016; Guo et al., ICLR 2018).

Each image is rounded to 8 bits, encoded as a baseline JPEG at ``quality``
(libjpeg's standard tables scaled by the quality factor, 4:2:0 chroma
subsampling, as TensorFlow's and PIL's encoders both default to) and decoded
again with the accurate integer IDCT (the output then equals PIL's
encode/decode round trip at the same quality). The default quality 75 is
the one Guo et al. evaluate, and libjpeg's and PIL's default.
"""

import numpy as np
import tensorflow as tf

from fia_tf.evaluation.defences import base

DEFAULT_QUALITY = 75


class Jpeg(base.Defence):
  """JPEG encode/decode round trip.

  Args:
    quality: JPEG quality factor, an integer in 1..100.

  Raises:
    ValueError: naming a quality outside 1..100.
  """
  kind = 'jpeg'

  def __init__(self, quality=DEFAULT_QUALITY):
    if isinstance(quality, bool) or not isinstance(
        quality, (int, np.integer)) or not 1 <= quality <= 100:
      raise ValueError(f'JPEG quality must be an integer in 1..100, got '
                       f'{quality!r} (e.g. jpeg75)')
    self.quality = int(quality)

  @property
  def spec(self):
    return f'jpeg{self.quality}'

  def _apply(self, images):
    out = []
    for image in base.to_uint8(images):
      encoded = tf.io.encode_jpeg(image, quality=self.quality,
                                  chroma_downsampling=True)
      # libjpeg's accurate integer IDCT: what PIL and most decoders use,
      # and integer arithmetic, so the output does not depend on the ISA.
      out.append(tf.io.decode_jpeg(encoded, channels=3,
                                   dct_method='INTEGER_ACCURATE').numpy())
    return np.stack(out).astype(np.float32)
