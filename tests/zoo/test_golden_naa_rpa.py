"""NAA and RPA against the authors' official code (jpzhang1810/NAA, alwaysfoggy/RPA).

``tests/data/golden/naa_rpa`` (its ``README.md`` defines every key) holds
what the unedited official TF1 + slim code computed with the deterministic
salt-0 golden weights: the importance weights, the baseline feature, the
inputs fed for every path member or masked copy, the first-iteration input
gradient, the loss per iteration and the 10-step outputs. Where the
originals drew randomness (NAA's path noise, RPA's masks) they drew it from
``np.random`` right after ``np.random.seed(0)``, so the draws can be made
again here and fed to our parts through a subclass that overrides their
draw method (``path_noise``, ``masks``); everything else is the registered
part as users get it.

Bars are those of the FIA golden tests (:mod:`tests.helpers.golden`): our
divergence from the original must be within a small multiple of our own
divergence under 1e-6 relative nudges of every weight or pixel, measured
here, on this CPU. The golden data was made on a Zen 2 (AVX2) CPU.

vgg_16 is held in its centre-crop variant (the input the FIA golden tests
use). Its NAA cases run on 44.png and 50.png with vgg_16's own clean top-1
labels, because on 1.png and 2.png these random weights saturate the softmax
and the original's NAA weights are 0/0 = NaN (kept here as the degenerate
reference: :func:`test_saturated_softmax_gives_clean_image_not_nan`).
``make test`` runs six cases: on inception_v3 NAA ens 0, NAA with the
original's noise, NAAPI, RPA ens 0 and RPA with the original's masks, and
vgg_16's NAA ens 0. The exhaustive tier (:data:`FULL_ONLY`, ``make
test-golden-full``) adds vgg_16's RPA with masks and NAA with noise and
inception_v3's zero-noise NAA: the same code paths again, on vgg_16 at
about 4x the time (15 of the suite's 70 minutes on a 2-core EPYC). The
stored vgg_16 RPA_ens0 (FIA's ens-0 path, held by the FIA golden tests),
zero-noise NAA and NAAPI cases are copied too (add them to ``CASES`` to
run them).
"""

import hashlib
import json

import numpy as np
import pytest
import tensorflow as tf

import fia_tf
from fia_tf.attacks import parts
from fia_tf.attacks.objectives import naa as naa_lib
from fia_tf.attacks.objectives import rpa as rpa_lib
from tests.helpers import golden as golden_lib

ROOT = golden_lib.GOLDEN / 'naa_rpa'
PI = {'amplification_factor': 2.5, 'gamma': 0.5, 'pkern_size': 3}
ZERO_NOISE = {'options': {'naa_noise_std': 0.0}}
VGG_NAA = 'vgg_16_centercrop_imgs44_50_top1labels'
# (net, variant, case, method, config, draws): draws 'noise' / 'masks' are
# the original's seeded np.random draws, fed through the *_GOLDEN parts.
CASES = [
    ('inception_v3', 'inception_v3', 'NAA_ens0', 'NAA', {'ens': 0}, None),
    ('inception_v3', 'inception_v3', 'NAA_ens10_zeronoise', 'NAA',
     {'ens': 10, **ZERO_NOISE}, None),
    ('inception_v3', 'inception_v3', 'NAA_ens10_seed0noise', 'NAA',
     {'ens': 10}, 'noise'),
    ('inception_v3', 'inception_v3', 'NAAPI_ens10_zeronoise', 'NAAPI',
     {'ens': 10, **ZERO_NOISE, **PI}, None),
    ('inception_v3', 'inception_v3', 'RPA_ens0', 'RPA', {'ens': 0}, None),
    ('inception_v3', 'inception_v3', 'RPA_ens4_seed0', 'RPA', {'ens': 4},
     'masks'),
    ('vgg_16', 'vgg_16_centercrop', 'RPA_ens4_seed0', 'RPA', {'ens': 4},
     'masks'),
    ('vgg_16', VGG_NAA, 'NAA_ens0', 'NAA', {'ens': 0}, None),
    ('vgg_16', VGG_NAA, 'NAA_ens10_seed0noise', 'NAA', {'ens': 10}, 'noise'),
]
IDS = [f'{v}-{c}' for _, v, c, *_ in CASES]
FULL_ONLY = {'inception_v3-NAA_ens10_zeronoise',
             'vgg_16_centercrop-RPA_ens4_seed0',
             f'{VGG_NAA}-NAA_ens10_seed0noise'}
PARAMS = [pytest.param(c, id=i, marks=[golden_lib.FULL_ONLY] if i in FULL_ONLY
                       else []) for c, i in zip(CASES, IDS)]
# The original's losses sum over the batch of B = 2 images and divide by the
# element count of the [2B, H, W, C] feature batch; ours are per image and
# divide by H * W * C: our gradients and values are the original's times 2B.
DIVISOR = 4.0
FACTOR_10_STEPS = 2.0   # as tests/zoo/test_golden_attacks.py

pytestmark = pytest.mark.golden


def record(variant, case):
  with np.load(ROOT / variant / case / 'record.npz') as f:
    return dict(f)


def record_json(variant, case):
  return json.loads((ROOT / variant / case / 'record.json').read_text())


def original_draws(kind, members, shape, keep_prob=0.7):
  """The original's draws after ``np.random.seed(0)``: ``[members, *shape]``."""
  state = np.random.RandomState(0)
  out = []
  for _ in range(members):
    if kind == 'noise':
      out.append(state.normal(size=shape, loc=0.0, scale=0.2))
    else:
      kept = state.binomial(1, keep_prob, size=shape)
      factor = state.uniform(0, 1, size=shape)
      out.append(np.where(kept == 1, 1, factor))
  return np.stack(out)


def table_lookup(table, copy_index, copy_ids):
  """``table[copy_index, copy_id]`` per copy: the original's stored draws."""
  index = tf.stack([tf.cast(copy_index, tf.int32),
                    tf.cast(copy_ids, tf.int32)], axis=1)
  return tf.gather_nd(tf.constant(table, tf.float32), index)


class GoldenNoise(naa_lib.NeuronAttribution):
  """NAA fed the original's noise: ``TABLE[member, image id]``."""
  TABLE = None  # numpy [members, images, H, W, C]

  @tf.autograph.experimental.do_not_convert
  def path_noise(self, copy_index, copy_ids):
    return table_lookup(self.TABLE, copy_index, copy_ids)


class GoldenMasks(rpa_lib.RandomPatch):
  """RPA fed the original's masks: ``TABLE[member, image id]``."""
  TABLE = None  # numpy [members, images, H, W, C]

  @tf.autograph.experimental.do_not_convert
  def masks(self, copy_index, copy_ids):
    return table_lookup(self.TABLE, copy_index, copy_ids)


def golden_method(method, draws, table):
  """The method string running the part of ``method`` fed ``table``."""
  base, cls, token = ({'noise': ('naa', GoldenNoise, 'NAAGOLDEN'),
                       'masks': ('rpa', GoldenMasks, 'RPAGOLDEN')}[draws])
  spec = parts.OBJECTIVES[base]
  subclass = type(cls.__name__, (cls,), {'TABLE': np.asarray(
      table, np.float32)})
  parts.OBJECTIVES.register(f'{base}_golden', subclass, token=token,
                            settings=spec.settings, options=spec.options,
                            replace=True)
  return method.replace(spec.token, token, 1)


class Case:
  """One golden case, with our attack built as the original ran."""

  def __init__(self, golden_nets, net, variant, case, method, config, draws):
    self.name = f'{variant}/{case}'
    self.spec, self.perturbations, self.source = golden_nets(net)
    self.record = record(variant, case)
    self.json = record_json(variant, case)
    self.files = [str(f) for f in self.record['image_files']]
    self.images = golden_lib.load_images(self.spec.input_size,
                                         self.files).astype(np.float32)
    batch = len(self.files)
    self.labels = self.record['labels_fed_argmax'][:batch].astype(np.int32)
    self.ids = np.arange(batch, dtype=np.int64)
    self.members = max(int(config['ens']), 1)
    if draws:
      shape = self.images.shape
      self.table = original_draws(draws, config['ens'], shape)
      method = golden_method(method, draws, self.table)
    self.variant, self.case, self.draws = variant, case, draws
    self.attack = fia_tf.Attack(self.source, fia_tf.AttackConfig(
        method=method, domain='model', clip='final', jit_compile=False,
        keep_prob=0.7, **config))

  def state(self, images):
    """Our objective's prepared state: ``(weights, baseline feature)``."""
    out = self.attack.objective.prepare(
        tf.constant(images), tf.constant(self.labels), tf.constant(self.ids))
    return out[0].numpy(), (out[1].numpy() if len(out) > 1 else None)

  def gradient(self, images):
    return self.attack.input_gradient(images, self.labels,
                                      self.ids).numpy() / DIVISOR

  def reruns(self, fn):
    return golden_lib.reruns(self.perturbations, self.images, fn)


@pytest.fixture(scope='module', params=PARAMS)
def case(request, golden_nets):
  built = Case(golden_nets, *request.param)
  yield built
  for name in ('naa_golden', 'rpa_golden'):
    parts.OBJECTIVES.unregister(name)


def samples(array, index):
  """The golden data's per-image samples: first 64 and strided 64 values."""
  flat = array.reshape(array.shape[0], -1).astype(np.float64)
  return np.concatenate([flat[:, :64], flat[:, index]], axis=1)


def relative_l2(a, b):
  return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def l2(array):
  return np.sqrt((array.reshape(array.shape[0], -1).astype(np.float64)**2)
                 .sum(axis=1))


def assert_within_noise(name, ours, golden, reruns, measure, **kwargs):
  error = measure(ours, golden)
  noise = [measure(ours, r) for r in reruns]
  ok, bar = golden_lib.within_noise(error, noise, **kwargs)
  print(json.dumps({'case': name, 'error': error, 'noise': noise,
                    'bar': bar}))
  assert ok, (name, error, noise)
  return error


# -- the draws ----------------------------------------------------------------


@pytest.mark.parametrize('variant,case', [
    ('inception_v3', 'RPA_ens4_seed0'), ('inception_v3', 'NAA_ens10_seed0noise'),
    ('vgg_16_centercrop', 'RPA_ens4_seed0'), (VGG_NAA, 'NAA_ens10_seed0noise')])
def test_draws_are_the_originals(variant, case):
  """The remade draws are bit-identical to what the originals logged."""
  info = record_json(variant, case)
  size = 299 if variant == 'inception_v3' else 224
  shape = (2, size, size, 3)
  if case.startswith('RPA'):
    masks = original_draws('masks', 4, shape)
    assert hashlib.md5(masks.tobytes()).hexdigest() == info['masks_md5']
  else:
    noise = original_draws('noise', 10, shape)
    for member, logged in zip(noise, info['member_draws']):
      (draw,) = logged
      assert draw['fn'] == 'normal'
      assert float(member.sum()) == draw['sum']
      np.testing.assert_array_equal(member.reshape(-1)[:8], draw['first8'])


# -- first-step quantities ----------------------------------------------------


def test_member_inputs_match_original(case):
  """Every path member / masked copy we feed is the one the original fed."""
  rec = case.record
  if case.attack.config.ens == 0:
    pytest.skip('ens 0 feeds the clean image')
  objective = case.attack.objective
  batch = len(case.files)
  for member in range(case.members):
    index = tf.fill([batch], member)
    fed = objective.copy(tf.constant(case.images), index,
                         tf.constant(case.ids)).numpy().astype(np.float64)
    first = fed.reshape(batch, -1)[:, :64]
    golden = rec['member_in_first64'][member].astype(np.float64)
    scale = np.abs(golden).max()
    # The original interpolates in float64 and casts once; we compute in
    # float32: a few float32 ulps of the largest value.
    np.testing.assert_allclose(first, golden, rtol=0, atol=1e-5 * scale)
    sumsq = (fed.reshape(batch, -1)**2).sum(axis=1)
    np.testing.assert_allclose(sumsq, rec['member_in_sumsq'][member],
                               rtol=1e-5)


def test_weights_match_original(case):
  """The normalised importance weights, and the baseline feature (NAA)."""
  rec = case.record
  ours, base = case.state(case.images)
  reruns = case.reruns(case.state)
  index = rec['strided_idx']
  np.testing.assert_allclose(l2(ours), 1.0, rtol=1e-5)
  assert_within_noise(
      f'{case.name}/w', samples(ours, index),
      np.concatenate([rec['w_first64'], rec['w_strided64']], axis=1).astype(
          np.float64),
      [samples(w, index) for w, _ in reruns], relative_l2)
  if base is not None:
    assert_within_noise(
        f'{case.name}/fbase', samples(np.broadcast_to(base, ours.shape),
                                      index),
        np.concatenate([rec['fbase_first64'], rec['fbase_strided64']],
                       axis=1).astype(np.float64),
        [samples(np.broadcast_to(b, ours.shape), index) for _, b in reruns],
        relative_l2)


def test_unnormalised_aggregate_matches_original(case):
  """The aggregate's norm: catches softmax vs logits and a missing member."""
  rec = case.record
  objective = case.attack.objective
  aggregate = objective.importance_weights

  def norm(images):
    return l2(aggregate(tf.constant(images), tf.constant(case.labels),
                        tf.constant(case.ids)).numpy())
  ours = norm(case.images)
  relative = lambda a, b: float(np.max(np.abs(a - b) / b))
  assert_within_noise(f'{case.name}/wraw_l2', ours, rec['wraw_l2'],
                      case.reruns(norm), relative)


def test_first_gradient_matches_original(case):
  """The first-iteration input gradient (samples and per-image norm)."""
  rec = case.record
  ours = case.gradient(case.images)
  reruns = case.reruns(case.gradient)
  index = rec['xgrad_strided_idx']
  golden = np.concatenate([rec['xgrad_first64'], rec['xgrad_strided64']],
                          axis=1).astype(np.float64)
  assert_within_noise(f'{case.name}/xgrad', samples(ours, index), golden,
                      [samples(g, index) for g in reruns], relative_l2)
  relative = lambda a, b: float(np.max(np.abs(a - b) / b))
  assert_within_noise(f'{case.name}/xgrad_l2', l2(ours), rec['xgrad_l2'],
                      [l2(g) for g in reruns], relative)


def test_first_loss_matches_original(case):
  """The loss at the clean image (NAA's includes the baseline feature)."""
  rec = case.record
  attack = fia_tf.Attack(case.source, fia_tf.AttackConfig.from_dict(
      {**case.attack.config.to_dict(), 'num_iter': 1}))

  def loss(images):
    _, values = attack.run(images, case.labels, case.ids)
    return np.array([values.numpy().sum() / DIVISOR])
  relative = lambda a, b: float(np.max(np.abs(a - b) / np.abs(b)))
  assert_within_noise(f'{case.name}/loss0', loss(case.images),
                      np.array([rec['loss_per_iter'][0]]),
                      case.reruns(loss), relative)


# -- after 10 iterations: a report held to measured bars ------------------------


@pytest.mark.slow
def test_outputs_match_original_attack(case):
  golden, files = golden_lib.precast(ROOT / case.variant / case.case /
                                     'precast_float64.npz')
  assert files == case.files
  images = case.images
  run = lambda x: case.attack(x, case.labels, case.ids).numpy().astype(
      np.float64)
  ours = run(images)
  reruns = case.reruns(run)
  sign = lambda x: np.sign(np.round(x - images, 3))
  measures = {
      'float_disagreement': golden_lib.disagreement,
      'sign_disagreement': lambda a, b: float(np.mean(sign(a) != sign(b))),
  }
  report = {'case': case.name}
  failures = []
  for name, measure in measures.items():
    error = measure(ours, golden)
    noise = [measure(ours, r) for r in reruns]
    ok, bar = golden_lib.within_noise(error, noise, factor=FACTOR_10_STEPS)
    report[name] = {'golden': error, 'reruns': noise, 'bar': bar}
    if not ok:
      failures.append(name)
  mean_pert = lambda x: float(np.abs(x - images).mean())
  error = abs(mean_pert(ours) - mean_pert(golden))
  noise = [abs(mean_pert(ours) - mean_pert(r)) for r in reruns]
  # Printed, not held: three reruns under-sample its spread (measured:
  # inception_v3 NAA_ens0, golden 0.013 from ours against reruns <= 0.0017,
  # while in the ens-10 cases the golden sits at 0.03-0.2 of such a bar).
  report['mean_pert'] = {'ours': mean_pert(ours), 'golden': mean_pert(golden),
                         'golden_minus_ours': error, 'reruns': noise}
  print(json.dumps(report))
  assert not failures, report
  assert np.abs(ours - images).max() <= 16 + 1e-3


# -- the original's degenerate case ---------------------------------------------


def test_saturated_softmax_gives_clean_image_not_nan(golden_nets):
  """vgg_16 NAA on 1.png, 2.png: the original divides 0 by 0, we stay clean.

  With these random weights the true class's logit trails the top-1 by
  hundreds, so its softmax probability is exactly 0 in float32, the
  attribution is all zero and the original's weights and PNGs are NaN /
  black. Ours are zero weights, a zero step and the clean image.
  """
  info = record_json('vgg_16_centercrop', 'NAA_ens0')
  rec = record('vgg_16_centercrop', 'NAA_ens0')
  assert info['w_nonfinite'] > 0 and min(info['label_logit_gap_to_top1']) > 200
  _, _, source = golden_nets('vgg_16')
  files = [str(f) for f in rec['image_files']]
  images = golden_lib.load_images(224, files).astype(np.float32)
  labels = rec['labels_fed_argmax'][:len(files)].astype(np.int32)
  ids = np.arange(len(files), dtype=np.int64)
  attack = fia_tf.Attack(source, fia_tf.AttackConfig(
      method='NAA', ens=0, domain='model', clip='final', jit_compile=False))
  logits = source.model(source.preprocess(tf.constant(images))).numpy()
  probability = tf.nn.softmax(logits).numpy()[np.arange(len(files)), labels]
  np.testing.assert_array_equal(probability, 0.0)
  weights = attack.objective.prepare(tf.constant(images), tf.constant(labels),
                                     tf.constant(ids))[0].numpy()
  assert np.isfinite(weights).all()
  np.testing.assert_array_equal(weights, 0.0)
  out = attack(images, labels, ids).numpy()
  # Zero steps; what is left is the model-domain round trip (float ulps).
  np.testing.assert_allclose(out, images, rtol=0, atol=1e-4)
