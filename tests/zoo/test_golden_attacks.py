"""The engine reproduces the original attack.py outputs on slim nets.

``tests/data/golden/attacks`` holds the pre-cast float outputs of the authors'
attack.py (TF1 + slim) for vgg_16 (center-crop input) and inception_v3 with
the deterministic salt-0 weights. Here the same nets come from our zoo,
loaded through the real checkpoint loader, and the engine runs with the
original's parity options: ``domain='model'`` (iterate in the model-input
domain) and ``clip='final'`` (clip to [0, 255] only at the end).
"""

import json
import os

import imageio.v3 as iio
import numpy as np
import pytest

import fia_tf
from fia_tf.zoo import checkpoint
from fia_tf.zoo import registry
from fia_tf.zoo import testing
from tests.zoo import zoo_data

ATTACKS = os.path.join(zoo_data.GOLDEN, 'attacks')
LABELS_1001 = {'1.png': 389, '2.png': 577, '44.png': 973, '50.png': 539}

# method dir -> (engine method, extra config) from summary.json's args.
METHODS = {
    'MIM': ('MIM', {}),
    'FIA': ('FIA', {'ens': 0}),
    'FDA': ('FDA', {'fda_reduction': 'batch'}),
    'TIM': ('TIM', {'tkern_size': 15}),
    'PIM': ('PIM', {'amplification_factor': 10.0, 'gamma': 1.0,
                    'pkern_size': 3}),
    'FIAPI': ('FIAPI', {'ens': 0, 'amplification_factor': 2.5, 'gamma': 0.5,
                        'pkern_size': 3}),
}


@pytest.fixture(scope='module')
def nets(tmp_path_factory):
  """Zoo nets with golden salt-0 weights, built and loaded once, on demand."""
  cache = {}

  def get(name):
    if name not in cache:
      spec = registry.get_spec(name)
      model = spec.build()
      manifest = zoo_data.golden_manifest(name)
      path = testing.write_slim_checkpoint(
          tmp_path_factory.mktemp(name) / f'{name}.ckpt',
          testing.golden_weights(manifest['variables']))
      checkpoint.load_slim_checkpoint(model, path)
      cache[name] = spec, fia_tf.SourceModel(
          model=model, preprocess=spec.preprocess, inverse=spec.deprocess,
          scale=spec.input_units_per_pixel,
          feature_layer=spec.resolve_layer(spec.default_layer), name=name)
    return cache[name]

  return get


def _golden(variant, method):
  data = np.load(os.path.join(ATTACKS, variant, method, 'precast_float64.npz'))
  return data['values'][data['idx']], [str(n) for n in data['names']]


def _inputs(spec, files):
  images = np.stack([iio.imread(os.path.join(zoo_data.IMAGES, f))
                     for f in files]).astype(np.float32)
  if spec.input_size == 224:
    images = images[:, zoo_data.CROP_224[0], zoo_data.CROP_224[1]]
  labels = spec.model_labels(np.array([LABELS_1001[f] for f in files]))
  return images, labels


CASES = ([('inception_v3', 'inception_v3', m) for m in METHODS] +
         [('vgg_16', 'vgg_16_centercrop', m) for m in ('FIA', 'FDA', 'FIAPI')] +
         [('vgg_16', 'vgg_16_centercrop_imgs44_50', m)
          for m in ('MIM', 'TIM', 'PIM')])


def _agreement(a, b):
  return float(np.mean(np.abs(np.asarray(a, np.float64) - b) <= 1e-3))


@pytest.mark.parametrize('name,variant,method', CASES,
                         ids=[f'{v}-{m}' for _, v, m in CASES])
def test_outputs_match_original_attack(nets, name, variant, method):
  """Ours is as close to the original as two builds of ours are to each other.

  Sign steps amplify float rounding: where a momentum entry is within
  rounding of zero, one ulp flips a whole step, and the trajectories part.
  The slim graph and our Keras net differ by such ulps (their gradients agree
  to ~1e-3 per element, see test_golden_slim), so pixel-exact agreement over
  10 iterations is out of reach for *any* re-implementation: our own engine
  with XLA on and off, the same algorithm on the same weights, parts on as
  many pixels. That measured floor is the bar here; for well-conditioned
  cases (vgg_16 FDA) agreement is exact. Perturbation statistics must match
  tightly in every case.
  """
  spec, source = nets(name)
  golden, files = _golden(variant, method)
  images, labels = _inputs(spec, files)
  engine_method, extra = METHODS[method]
  outputs = {}
  for jit in (False, True):
    config = fia_tf.AttackConfig(method=engine_method, domain='model',
                                 clip='final', jit_compile=jit, **extra)
    outputs[jit] = fia_tf.Attack(source, config)(images, labels).numpy()
  ours = outputs[False]
  to_golden = _agreement(ours, golden)
  floor = _agreement(ours, outputs[True])
  png = np.stack([iio.imread(os.path.join(ATTACKS, variant, method, f))
                  for f in files]).astype(np.int64)
  # The original truncates to uint8; compare the same truncation.
  png_within_one = float(np.mean(
      np.abs(ours.astype(np.uint8).astype(np.int64) - png) <= 1))
  sign = lambda x: np.sign(np.round(x - images, 3))
  sign_agreement = float(np.mean(sign(ours) == sign(golden)))
  print(json.dumps({'case': f'{variant}/{method}', 'float_agreement':
                    to_golden, 'png_within_1': png_within_one,
                    'xla_floor': floor, 'sign_agreement': sign_agreement}))
  assert to_golden >= floor - 0.02, (to_golden, floor)
  assert png_within_one >= to_golden - 0.02
  assert sign_agreement >= 0.8
  np.testing.assert_allclose(np.abs(ours - images).mean(),
                             np.abs(golden - images).mean(), rtol=5e-3)
  assert np.abs(ours - images).max() <= 16 + 1e-3


def test_zero_gradient_gives_clean_image_where_original_gives_nan(nets):
  """vgg_16 MIM on images 1-2: float32 softmax is one-hot, gradient 0.

  The original divides 0 by 0 and writes all-NaN (black) images; ours takes
  a zero step and returns the clean image.
  """
  spec, source = nets('vgg_16')
  golden, files = _golden('vgg_16_centercrop', 'MIM')
  assert np.all(np.isnan(golden))
  images, labels = _inputs(spec, files)
  for method in ('MIM', 'TIM', 'PIM'):
    engine_method, extra = METHODS[method]
    ours = fia_tf.Attack(source, fia_tf.AttackConfig(
        method=engine_method, domain='model', clip='final', **extra))(
            images, labels).numpy()
    assert np.all(np.isfinite(ours))
    np.testing.assert_allclose(ours, images, atol=1e-3)
