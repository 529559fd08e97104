"""What every defence shares: the transform protocol and the wrapped target.

A defence is a deterministic function of a batch of float pixel images in
0..255 (``[B, H, W, 3]``) to images in 0..255. It runs on the pixels before
the wrapped target's own preprocessing, the way an input-transformation
defence sits in front of a deployed classifier. Randomised defences (R&P)
draw per image from keyed, stateless streams (:mod:`fia_tf.attacks.rng`)
keyed by the image's content, so a result never depends on the batch the
image was evaluated in.
"""

import numpy as np

from fia_tf.evaluation import targets as targets_lib


class Defence:
  """Base class of the input transformations.

  Subclasses set :attr:`kind` (the spec prefix), implement :meth:`_apply`
  on a chunk of images and describe their parameters in :attr:`spec`.
  """
  kind = 'defence'
  #: Images transformed per call of :meth:`_apply` (bounds memory: some
  #: transforms hold a few copies of each image).
  chunk = 8
  #: Bump when the transform's output changes, so prediction caches made
  #: with an older version are not reused.
  version = 1

  @property
  def spec(self):
    """The canonical spec string (``'jpeg75'``), also the name suffix."""
    return self.kind

  def __call__(self, images):
    """Float pixels ``[B, H, W, 3]`` in 0..255 -> transformed, 0..255."""
    images = np.asarray(images, np.float32)
    if images.ndim != 4 or images.shape[-1] != 3:
      raise ValueError(f'{self.spec}: images must be [B, H, W, 3], got shape '
                       f'{images.shape}')
    if not len(images):
      return images
    out = [np.asarray(self._apply(images[i:i + self.chunk]), np.float32)
           for i in range(0, len(images), self.chunk)]
    return np.clip(np.concatenate(out), 0.0, 255.0)

  def _apply(self, images):
    raise NotImplementedError

  def fingerprint(self):
    return f'{self.spec}:v{self.version}'

  def __repr__(self):
    return f'{type(self).__name__}({self.spec!r})'


def to_uint8(images):
  """Rounds float pixels to the 8-bit values an encoder sees."""
  return np.clip(np.round(images), 0, 255).astype(np.uint8)


class DefendedTarget(targets_lib.Target):
  """A target behind one or more input transformations (applied in order).

  The images are brought to the wrapped target's input size first (as the
  undefended target would see them), transformed, then handed to the
  wrapped target, which resizes again only when a transform changed the
  size (R&P's padded canvas on a fixed-size model).

  Args:
    target: any :class:`fia_tf.evaluation.Target`.
    defences: :class:`Defence` list.
  """

  def __init__(self, target, defences):
    if not isinstance(target, targets_lib.Target):
      raise ValueError(f'DefendedTarget wraps a Target, got '
                       f'{type(target).__name__} (use fia_tf.evaluation.'
                       'as_target first)')
    defences = list(defences)
    if not defences:
      raise ValueError(f'{target.name}: no defence given')
    self.target = target
    self.defences = defences
    self.name = target.name + ''.join('+' + d.spec for d in defences)
    self.input_size = target.input_size

  @property
  def strategy(self):
    return getattr(self.target, 'strategy', None)

  def transform(self, images):
    """The defences' output for float pixels at the target's size."""
    for defence in self.defences:
      images = defence(images)
    return images

  def _predict(self, images):
    return self.target.predict(self.transform(images))

  def fingerprint(self):
    return '+'.join([self.target.fingerprint()] +
                    [d.fingerprint() for d in self.defences])

  def release(self):
    self.target.release()
