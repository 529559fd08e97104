"""Checks every attack's output must pass, shared by the attack tests."""

import numpy as np

ORDER = np.array([4, 1, 5, 0])


def assert_budget_determinism_and_batch(attack, images, labels, ids, *,
                                        moved=8.0, atol=0.0):
  """Runs ``attack`` on 6 images and checks what every attack must hold.

  Inside the 16-level eps-ball also after rounding to uint8 and inside
  [0, 255]; moved by more than ``moved`` levels somewhere; the same bytes
  when run again; and each image's result independent of its batch mates
  and their order (to ``atol`` grey levels: 0 where the attack's kernels
  do not depend on the batch size, about 1e-3 where they do).

  Returns:
    The adversarial images, numpy.
  """
  adv = attack(images, labels, ids).numpy()
  rounded = np.round(adv).astype(np.int64)
  assert np.abs(rounded - images.astype(np.int64)).max() <= 16
  assert adv.min() >= 0 and adv.max() <= 255
  assert np.abs(adv - images).max() > moved, 'the attack barely moved'
  np.testing.assert_array_equal(attack(images, labels, ids).numpy(), adv)
  part = attack(images[ORDER], labels[ORDER], ids[ORDER]).numpy()
  if atol:
    np.testing.assert_allclose(part, adv[ORDER], rtol=0, atol=atol)
  else:
    np.testing.assert_array_equal(part, adv[ORDER])
  return adv
