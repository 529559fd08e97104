"""The ImageNet demo's method list and per-method settings (no model run)."""

import numpy as np
import pytest

from fia_tf.demos import imagenet
from fia_tf.evaluation import transfer


def _sets():
  return {s.name: s.config for s in transfer.plan_sets(
      [imagenet.SOURCE], list(imagenet.METHODS), imagenet.SETTINGS,
      keep_prob={'normal': imagenet.KEEP_PROB},
      method_settings=imagenet.METHOD_SETTINGS)}


def test_every_family_method_is_planned():
  sets = _sets()
  for method in ('NAA', 'DANAA', 'ILPD', 'BFA', 'P2FA'):
    assert f'{imagenet.SOURCE}/{method}' in sets
  # RPA drops pixels like FIA: it takes the demo's keep probability.
  assert sets[f'{imagenet.SOURCE}/RPA_p0.7'].keep_prob == imagenet.KEEP_PROB


def test_bfa_step_keeps_the_codes_per_pixel_step_at_224():
  sets = _sets()
  # The code's eta = 28 on 299 x 299 x 3; the same RMS step per pixel and
  # channel on Lite0's 224 x 224 x 3 input.
  per_pixel = 28 / np.sqrt(299 * 299 * 3)
  for name, option in (('BFA', 'bfa_eta'), ('P2FA', 'p2fa_eta')):
    eta = sets[f'{imagenet.SOURCE}/{name}'].option(option)
    assert eta / np.sqrt(224 * 224 * 3) == pytest.approx(per_pixel)
  # Every method shares the budget and steps.
  assert {(c.eps, c.alpha, c.num_iter) for c in sets.values()} == {
      (16.0, 1.6, 10)}


def test_defended_targets_wrap_the_black_box_lite_models():
  from fia_tf.evaluation import defences  # pylint: disable=import-outside-toplevel
  from fia_tf.evaluation import targets  # pylint: disable=import-outside-toplevel
  names, _ = imagenet.targets(slim=False)
  assert names[:3] == list(imagenet.PACKAGE_TARGETS)
  assert len(names) == 3 + 2 * len(imagenet.DEFENCES)
  assert {'efficientnet_lite1+jpeg75', 'efficientnet_lite2+rp'} <= set(names)
  for name in names[3:]:
    target = targets.as_target(name)  # built lazily: no weights read here
    assert isinstance(target, defences.DefendedTarget)
    assert target.name == name
  assert imagenet.targets(slim=False, defended=False)[0] == list(
      imagenet.PACKAGE_TARGETS)
