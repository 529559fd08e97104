"""RPA (Zhang et al., IJCAI 2022): FIA with randomly masked copies.

Paper: "Enhancing the Transferability of Adversarial Examples with Random
Patch". Official code: github.com/alwaysfoggy/RPA (TF1 + slim,
``attack.py``; we follow commit 245d85d, checked against its outputs in
``tests/zoo/test_golden_naa_rpa.py``).

RPA keeps FIA's loss, ``sum(features(x) * W) / size``, and FIA's
importance (the gradient of the true class's **logit**), and changes the
copies the importance is summed over: copy ``l = 0 .. ens-1`` of each image
is ``P(x * M_l)`` with a mask ``M_l`` that multiplies the raw 0..255 pixels,
where a kept entry is 1 and a dropped one is a fresh ``U(0, 1)`` value (a
dropped pixel is darkened by a random factor, not zeroed). ``W`` is the sum
over copies, L2-normalised per image and negated; ``ens = 0`` is the clean
image alone, which makes RPA exactly FIA with ``ens = 0``.

Two mask kinds (option ``rpa_masks``):

* ``'pixel'`` (default): what the official code computes. Each pixel and
  channel is kept with probability ``keep_prob`` (the code's ``--probb``).
  The code's member loop begins ``if l % 1 == 0:``, which is always true,
  so the random-patch branches below never run, and the published
  ``--attack_method RPA`` crashes (the code only defines its weights for
  method names containing ``FIA``; it runs as ``RPA_FIA``). The golden
  data of that code are the reference, hence the default.
* ``'patch'``: the paper's random patches, as the dead branches describe
  them. Copy ``l`` cuts the image into a grid of ``s x s`` patches, with
  ``s = 3, 5, 7`` for ``l % 3 = 1, 2, 0``; of the ``(patch, channel)``
  cells, exactly ``int(cells * (1 - keep_prob))`` are dropped, each pixel
  of a dropped cell getting its own ``U(0, 1)`` factor; the right and bottom
  strips that do not fill a whole patch are never masked (as in the code's
  ``patch_by_strides``).

The paper's setting is ``ens = 60, keep_prob = 0.7`` (the code's flag
default is ``ens = 1``); ``ens`` is the shared config field (default 30),
so pass ``ens=60`` for the paper's numbers.

Where we differ from the official code, and why: the masks are keyed per
image (:mod:`fia_tf.attacks.rng`), not drawn from a global ``np.random``
stream seeded once per process (where a batch's masks depend on all batches
before it), and in ``'patch'`` mode each image gets its own patch choice
(the code shares one choice across the batch); the other differences are
FIA's (:mod:`fia_tf.attacks.objectives.fia`).
"""

import tensorflow as tf

from fia_tf.attacks import checks
from fia_tf.attacks import parts
from fia_tf.attacks import rng
from fia_tf.attacks.objectives import fia

RPA_MASK = rng.claim(6, "RPA's masks")
# Patch sizes of copy l by l % 3, as the official code's dead branches.
PATCH_SIZES = (7, 3, 5)


def pixel_masks(uniform, keep_prob):
  """Pixel-wise masks from ``uniform [P, 2, H, W, C]`` draws in [0, 1)."""
  return tf.where(uniform[:, 0] < keep_prob, tf.ones_like(uniform[:, 1]),
                  uniform[:, 1])


def patch_masks(uniform, keep_prob, patch):
  """Random-patch masks of one patch size.

  Args:
    uniform: ``[P, 2, H, W, C]`` draws in [0, 1): the first plane ranks the
      cells (only its first ``cells`` entries are used), the second gives
      the dropped pixels' factors.
    keep_prob: fraction of cells kept.
    patch: patch side ``s``.

  Returns:
    ``[P, H, W, C]`` masks.
  """
  _, _, height, width, channels = uniform.shape
  rows, cols = height // patch, width // patch
  cells = rows * cols * channels
  dropped = int(cells * (1 - keep_prob))
  score = tf.reshape(uniform[:, 0], [-1, height * width * channels])[:,
                                                                     :cells]
  # A cell is dropped when its score is among the ``dropped`` smallest:
  # exactly that many per copy, like a choice without replacement.
  rank = tf.argsort(tf.argsort(score, axis=1, stable=True), axis=1,
                    stable=True)
  drop = tf.reshape(rank < dropped, [-1, rows, cols, channels])
  drop = tf.repeat(tf.repeat(drop, patch, axis=1), patch, axis=2)
  drop = tf.pad(drop, [[0, 0], [0, height - rows * patch],
                       [0, width - cols * patch], [0, 0]])
  return tf.where(drop, uniform[:, 1], tf.ones_like(uniform[:, 1]))


class RandomPatch(fia.FeatureImportance):
  """RPA's objective; subclasses may override :meth:`masks`."""

  def __init__(self, context):
    super().__init__(context)
    self.mask_kind = self.config.option('rpa_masks')
    self._draw = tf.function(self._masks, jit_compile=True)

  def _masks(self, copy_index, copy_ids):
    keys = rng.keys(self.config.seed, RPA_MASK, copy_index, copy_ids)
    uniform = rng.uniform(keys, (2,) + tuple(self.network.image_shape))
    keep = self.config.keep_prob
    if self.mask_kind == 'pixel':
      return pixel_masks(uniform, keep)
    pick = tf.math.floormod(tf.cast(copy_index, tf.int32),
                            len(PATCH_SIZES))[:, None, None, None]
    out = patch_masks(uniform, keep, PATCH_SIZES[-1])
    for index in range(len(PATCH_SIZES) - 1):
      out = tf.where(pick == index,
                     patch_masks(uniform, keep, PATCH_SIZES[index]), out)
    return out

  def masks(self, copy_index, copy_ids):
    """The mask of each copy, ``[P, H, W, C]``, multiplying 0..255 pixels."""
    return self._draw(copy_index, copy_ids)

  def copy(self, pixels, copy_index, copy_ids):
    masked = pixels * self.masks(copy_index, copy_ids)
    return self.input_transform(
        self.network.preprocess(masked),
        rng.keys(self.config.seed, rng.MASK_DI, copy_index, copy_ids))


parts.OBJECTIVES.register(
    'rpa', RandomPatch, token='RPA', aliases=('RPAFIA',),
    settings=('ens', 'keep_prob'),
    description='RPA: FIA weights over randomly masked copies',
    options=(
        parts.Option('rpa_masks', 'pixel',
                     lambda n, v: checks.check_choice(n, v,
                                                      ('pixel', 'patch')),
                     "'pixel' (the official code) or 'patch' (the paper)"),
    ))
