"""The engine against the original attack.py after all 10 iterations (a report).

``tests/data/golden/attacks`` holds the pre-cast float outputs of the
authors' attack.py (TF1 + slim) for vgg_16 (center-crop input) and
inception_v3 with the deterministic salt-0 weights. Here the same nets come
from our zoo, loaded through the real checkpoint loader, and the engine runs
with the original's parity options: ``domain='model'`` (iterate in the
model-input domain) and ``clip='final'`` (clip to [0, 255] only at the end).

Ten sign steps are chaotic: wherever a momentum entry is within rounding of
zero, one ulp flips a whole step and the trajectories part. The original
does not agree with *itself* across CPUs after 10 steps (50-85% of pixels,
``attacks_steps/README.md``), so no fixed bar can hold on every machine.
The tight checks are after one and two steps (``test_golden_steps.py``);
this test prints the 10-step figures and holds them to bars measured here:
our reruns with every weight, or every pixel, nudged by 1e-6 relative
diverge from our own run by some amount, and the original may diverge by at most
:data:`FACTOR` times the largest of those (it is one more such draw).
"""

import json

import imageio.v3 as iio
import numpy as np
import pytest

import fia_tf
from tests.helpers import golden as golden_lib

ATTACKS = golden_lib.GOLDEN / 'attacks'
# After 10 steps the divergences of independent float-noise draws are of one
# size (measured: the original's is 0.4-1.0x our largest rerun's on all 12
# cases), so twice the largest rerun is the bar; mean |perturbation| is
# smooth and keeps the tighter default factor.
FACTOR = 2.0

pytestmark = [pytest.mark.golden, pytest.mark.slow]

@pytest.mark.parametrize('case', golden_lib.attack_params())
def test_outputs_match_original_attack(golden_nets, case):
  name, variant, method = case
  spec, perturbations, source = golden_nets(name)
  golden, files = golden_lib.precast(ATTACKS / variant / method /
                                     'precast_float64.npz')
  images, labels = golden_lib.attack_inputs(spec, files)
  engine_method, extra, _ = golden_lib.ATTACK_METHODS[method]
  attack = fia_tf.Attack(source, fia_tf.AttackConfig(
      method=engine_method, domain='model', clip='final', jit_compile=False,
      **extra))
  run = lambda x: attack(x, labels).numpy().astype(np.float64)
  ours = run(images)
  reruns = golden_lib.reruns(perturbations, images, run)

  disagreement = golden_lib.disagreement
  sign = lambda x: np.sign(np.round(x - images, 3))
  sign_miss = lambda a, b: float(np.mean(sign(a) != sign(b)))
  mean_pert = lambda x: float(np.abs(x - images).mean())
  error = disagreement(ours, golden)
  noise = [disagreement(ours, r) for r in reruns]
  ok, bar = golden_lib.within_noise(error, noise, factor=FACTOR)
  sign_error = sign_miss(ours, golden)
  sign_noise = [sign_miss(ours, r) for r in reruns]
  sign_ok, sign_bar = golden_lib.within_noise(sign_error, sign_noise,
                                              factor=FACTOR)
  pert_error = abs(mean_pert(ours) - mean_pert(golden))
  pert_noise = [abs(mean_pert(ours) - mean_pert(r)) for r in reruns]
  pert_ok, pert_bar = golden_lib.within_noise(pert_error, pert_noise)
  png = np.stack([iio.imread(ATTACKS / variant / method / f)
                  for f in files]).astype(np.int64)
  # The original truncates to uint8; compare the same truncation.
  png_within_one = float(np.mean(
      np.abs(ours.astype(np.uint8).astype(np.int64) - png) <= 1))
  print(json.dumps({
      'case': f'{variant}/{method}', 'float_agreement': 1 - error,
      'rerun_agreement': [1 - n for n in noise], 'agreement_bar': 1 - bar,
      'sign_agreement': 1 - sign_error, 'sign_bar': 1 - sign_bar,
      'mean_pert': [mean_pert(ours), mean_pert(golden)],
      'mean_pert_bar': pert_bar, 'png_within_1': png_within_one}))
  assert ok, (error, noise)
  assert sign_ok, (sign_error, sign_noise)
  assert pert_ok, (pert_error, pert_noise)
  assert png_within_one >= 1 - error - 0.02
  assert np.abs(ours - images).max() <= 16 + 1e-3


def test_zero_gradient_gives_clean_image_where_original_gives_nan(
    golden_nets):
  """vgg_16 MIM on images 1-2: float32 softmax is one-hot, gradient 0.

  The original divides 0 by 0 and writes all-NaN (black) images; ours takes
  a zero step and returns the clean image.
  """
  spec, _, source = golden_nets('vgg_16')
  golden, files = golden_lib.precast(ATTACKS / 'vgg_16_centercrop' / 'MIM' /
                                     'precast_float64.npz')
  assert np.all(np.isnan(golden))
  images, labels = golden_lib.attack_inputs(spec, files)
  for method in ('MIM', 'TIM', 'PIM'):
    engine_method, extra, _ = golden_lib.ATTACK_METHODS[method]
    ours = fia_tf.Attack(source, fia_tf.AttackConfig(
        method=engine_method, domain='model', clip='final', **extra))(
            images, labels).numpy()
    assert np.all(np.isfinite(ours))
    np.testing.assert_allclose(ours, images, atol=1e-3)
