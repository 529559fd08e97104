"""Input-transformation defences: each transform against an independent
reference, determinism, errors, wrapping, and that each lowers the success
of a plain MIM attack on a tiny model trained here."""

import io

import keras
import numpy as np
from PIL import Image
import pytest
from scipy import fft as scipy_fft
from scipy import ndimage

import fia_tf
from fia_tf import evaluation
from fia_tf.evaluation import defences
from fia_tf.evaluation import transfer
from fia_tf.evaluation.defences import fd
from fia_tf.evaluation.defences import rp
from tests.helpers.paths import FASHION_SUBSET

SPECS = ('jpeg75', 'bitred4', 'fd', 'rp', 'median3')


def textured(count=2, size=40, seed=0):
  """Smooth gratings plus noise: images a JPEG encoder visibly changes."""
  rs = np.random.RandomState(seed)
  yy, xx = np.mgrid[0:size, 0:size]
  out = []
  for _ in range(count):
    phase = rs.uniform(0, 6, 3)
    base = np.stack([127 + 100 * np.sin(xx / 5.0 + p) * np.cos(yy / 7.0)
                     for p in phase], -1)
    out.append(base + rs.normal(0, 12, base.shape))
  return np.clip(np.round(out), 0, 255).astype(np.float32)


def pil_round_trip(image, quality):
  buffer = io.BytesIO()
  Image.fromarray(image.astype(np.uint8)).save(buffer, 'JPEG',
                                               quality=quality)
  return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert('RGB'),
                    np.float32)


# ---- each transform against a reference --------------------------------------

@pytest.mark.parametrize('quality', [75, 30, 95])
def test_jpeg_equals_pils_round_trip(quality):
  images = textured(2, size=40)
  out = defences.make(f'jpeg{quality}')(images)
  for got, image in zip(out, images):
    reference = pil_round_trip(image, quality)
    # Both are libjpeg with the standard tables and the integer IDCT; one
    # level allows for a different libjpeg build in PIL's wheel.
    assert np.abs(got - reference).max() <= 1.0
    # And JPEG did change the image (the comparison is not vacuous).
    assert np.abs(got - image).mean() > 2.0
  assert defences.make('jpeg').quality == 75


def test_bit_depth_reduction_by_hand():
  values = np.array([0, 8, 9, 127.4, 128, 246, 255], np.float32)
  images = np.broadcast_to(values[None, :, None, None], (1, 7, 1, 3)).copy()
  # 4 bits: 16 levels 17 apart; x -> 17 * round(x / 17).
  got = defences.make('bitred4')(images)[0, :, 0, 0]
  np.testing.assert_array_equal(got, [0, 0, 17, 119, 136, 238, 255])
  # 1 bit: black or white around 127.5.
  got = defences.make('bitred1')(images)[0, :, 0, 0]
  np.testing.assert_array_equal(got, [0, 0, 0, 0, 255, 255, 255])
  assert defences.make('bitred').bits == 4
  random = np.random.RandomState(0).uniform(0, 255, (2, 9, 9, 3))
  levels = defences.make('bitred3')(random) / (255 / 7)
  np.testing.assert_allclose(levels, np.round(levels), atol=1e-4)


@pytest.mark.parametrize('window', [2, 3, 5])
def test_median_equals_scipy(window):
  images = np.random.RandomState(window).uniform(0, 255, (2, 13, 11, 3))
  got = defences.make(f'median{window}')(images)
  reference = ndimage.median_filter(images.astype(np.float32),
                                    size=(1, window, window, 1),
                                    mode='reflect')
  # A median selects one of the inputs: no arithmetic, exact.
  np.testing.assert_array_equal(got, reference)


def test_fd_quantisation_table_by_hand():
  table = fd.quantisation_table()
  assert table.shape == (8, 8)
  # The authors' table: 25 on the 4x4 lowest frequencies, 30 elsewhere.
  assert (table == 25).sum() == 16 and (table == 30).sum() == 48
  for u, v in [(0, 0), (0, 3), (3, 0), (3, 3), (1, 2)]:
    assert table[u, v] == 25
  for u, v in [(0, 4), (4, 0), (3, 4), (7, 7), (5, 1)]:
    assert table[u, v] == 30
  assert fd.quantisation_table(40)[7, 7] == 40
  np.testing.assert_allclose(fd.dct_matrix(),
                             scipy_fft.dct(np.eye(8), norm='ortho', axis=0),
                             atol=1e-12)


def test_fd_quantises_one_block_as_computed_by_hand():
  # A block built from known DCT coefficients (cosines written out here).
  def basis(u, v):
    def c(k):
      return np.sqrt(1 / 8) if k == 0 else np.sqrt(2 / 8)
    n = np.arange(8)
    return np.outer(c(u) * np.cos((2 * n + 1) * u * np.pi / 16),
                    c(v) * np.cos((2 * n + 1) * v * np.pi / 16))
  coefficients = {(0, 0): 1000.3, (1, 2): 37.4, (3, 3): 13.0, (2, 3): 12.0,
                  (0, 4): 44.0, (5, 1): -16.0, (7, 6): 50.0}
  # Low band (u, v < 4) to multiples of 25, the rest to multiples of 30:
  # 1000.3 -> 1000, 37.4 -> 25, 13 -> 25, 12 -> 0, 44 -> 30, -16 -> -30,
  # 50 -> 60.
  expected = {(0, 0): 1000.0, (1, 2): 25.0, (3, 3): 25.0, (2, 3): 0.0,
              (0, 4): 30.0, (5, 1): -30.0, (7, 6): 60.0}
  block = sum(value * basis(*uv) for uv, value in coefficients.items())
  want = sum(value * basis(*uv) for uv, value in expected.items())
  assert 0 < block.min() and block.max() < 255 and 0 < want.min()
  # Every channel is quantised on its own: three different blocks.
  images = np.stack([block, want, 255 - block], -1)[None].astype(np.float32)
  out = defences.make('fd')(images)
  np.testing.assert_allclose(out[0, :, :, 0], want, atol=1e-3)
  np.testing.assert_allclose(out[0, :, :, 1], want, atol=1e-3)
  again = fd.quantise_planes((255 - block)[None, :, :, None],
                             fd.quantisation_table())[0, :, :, 0]
  np.testing.assert_allclose(out[0, :, :, 2], again, atol=1e-3)


def test_fd_pads_sizes_that_are_not_multiples_of_8():
  images = textured(1, size=21)
  out = defences.make('fd')(images)
  assert out.shape == images.shape
  assert 0 < np.abs(out - images).mean() < 20


def test_rp_sizes_offsets_and_fill():
  assert rp.canvas_size(299) == 331 and rp.canvas_size(224) == 248
  images = textured(3, size=32)
  out = defences.make('rp')(images)
  canvas = rp.canvas_size(32)
  assert out.shape == (3, canvas, canvas, 3)
  rnd, top, left = rp.draws(images, canvas)
  for i in range(3):
    assert 32 <= rnd[i] < canvas
    assert 0 <= top[i] <= canvas - rnd[i] and 0 <= left[i] <= canvas - rnd[i]
    inside = np.zeros((canvas, canvas), bool)
    inside[top[i]:top[i] + rnd[i], left[i]:left[i] + rnd[i]] = True
    assert np.all(out[i][~inside] == rp.FILL)
    # Nearest-neighbour resize, by hand: output pixel j samples input
    # floor((j + 0.5) * 32 / rnd).
    src = np.floor((np.arange(rnd[i]) + 0.5) * 32 / rnd[i]).astype(int)
    np.testing.assert_array_equal(
        out[i][inside].reshape(rnd[i], rnd[i], 3),
        images[i][src][:, src])


def test_rp_draws_are_uniform_and_keyed_per_image():
  images = np.random.RandomState(0).uniform(0, 255, (2000, 4, 4, 3)).astype(
      np.float32)
  canvas = 36  # rnd in 4..35: 32 sizes
  rnd, top, left = rp.draws(images, canvas)
  assert rnd.min() == 4 and rnd.max() == 35
  assert len(np.unique(rnd)) == 32
  # Mean of a uniform over 4..35 is 19.5; its standard error here is ~0.2.
  assert abs(rnd.mean() - 19.5) < 1.0
  room = canvas - rnd
  assert np.all((top >= 0) & (top <= room) & (left >= 0) & (left <= room))
  assert np.any(top == room) and np.any(top == 0)
  # Offsets are uniform over the room left: mean fraction 0.5.
  assert abs(np.mean((top + 0.5) / (room + 1)) - 0.5) < 0.03
  assert abs(np.mean((left + 0.5) / (room + 1)) - 0.5) < 0.03
  # Keyed by content: the same images in another order and batch get the
  # same draws; another seed gives other draws.
  order = np.random.RandomState(1).permutation(50)
  again = rp.draws(images[:50][order], canvas)
  np.testing.assert_array_equal(again[0], rnd[:50][order])
  np.testing.assert_array_equal(again[1], top[:50][order])
  other = rp.draws(images[:50], canvas, seed=1)
  assert np.mean(other[0] != rnd[:50]) > 0.5


def test_rp_output_does_not_depend_on_the_batch():
  images = textured(5, size=24)
  whole = defences.make('rp')(images)
  alone = np.concatenate([defences.make('rp')(images[i:i + 1])
                          for i in range(5)])
  np.testing.assert_array_equal(whole, alone)


# ---- shared properties -----------------------------------------------------

@pytest.mark.parametrize('spec', SPECS)
def test_deterministic_shape_and_range(spec):
  images = textured(3, size=32, seed=2)
  images[0, :4] = 0.0
  images[1, :4] = 255.0
  defence = defences.make(spec)
  first, second = defence(images), defences.make(spec)(images)
  assert first.dtype == np.float32
  assert first.tobytes() == second.tobytes()
  assert first.min() >= 0.0 and first.max() <= 255.0
  if spec == 'rp':
    assert first.shape == (3, rp.canvas_size(32), rp.canvas_size(32), 3)
  else:
    assert first.shape == images.shape
  # Every defence changes these images.
  assert not np.array_equal(first[:, :32, :32], images)


@pytest.mark.parametrize('spec, message', [
    ('jpeg0', 'JPEG quality must be an integer in 1..100, got 0'),
    ('jpeg101', 'got 101'),
    ('bitred9', 'bit depth must be an integer in 1..8, got 9'),
    ('bitred0', 'got 0'),
    ('median1', 'median window must be an integer in 2..15, got 1'),
    ('fd0', 'FD high-band step must be an integer in 1..255, got 0'),
    ('rp1', 'R&P canvas must be an integer >= 2, got 1'),
    ('blur3', "unknown defence 'blur3'; known: jpeg, bitred, fd, rp, median"),
    ('jpeg-5', "unknown defence 'jpeg-5'"),
])
def test_bad_defences_are_named(spec, message):
  with pytest.raises(ValueError, match=message.replace('.', r'\.').replace(
      '(', r'\(')):
    defences.make(spec)


def test_bad_target_specs_name_the_target():
  with pytest.raises(ValueError, match="target 'vgg_16\\+jpeg0'.*got 0"):
    evaluation.as_target('vgg_16+jpeg0')
  with pytest.raises(ValueError, match="unknown defence 'nope'"):
    defences.check('vgg_16+nope')
  with pytest.raises(ValueError, match="bad target 'vgg_16\\+'"):
    defences.split('vgg_16+')
  assert defences.split('a+jpeg75+median3') == ('a', ['jpeg75', 'median3'])
  with pytest.raises(ValueError, match='R&P canvas 20 must exceed'):
    defences.make('rp20')(np.zeros((1, 24, 24, 3)))


# ---- as targets ------------------------------------------------------------

class MeanTarget(evaluation.Target):
  """Class 1 when the mean pixel is above 100 (no model)."""

  def __init__(self, input_size=None):
    self.name, self.input_size = 'mean', input_size
    self.seen = []

  def _predict(self, images):
    self.seen.append(images.copy())
    return (images.mean(axis=(1, 2, 3)) > 100).astype(np.int64)


def test_defended_target_transforms_before_the_target():
  inner = MeanTarget(input_size=16)
  target = evaluation.defend(inner, 'bitred1', 'median3')
  assert target.name == 'mean+bitred1+median3'
  assert target.input_size == 16
  assert target.fingerprint() == 'mean+bitred1:v1+median3:v1'
  images = textured(2, size=20)
  target.predict(images)
  resized = fia_tf.data.resize(images, 16)
  want = defences.make('median3')(defences.make('bitred1')(resized))
  np.testing.assert_array_equal(inner.seen[-1], want)
  # R&P's larger canvas goes back to a fixed-size target's input size.
  target = evaluation.defend(inner, 'rp')
  target.predict(images)
  assert inner.seen[-1].shape == (2, 16, 16, 3)


def test_keras_models_and_registry_names_wrap(tiny_model, tiny_checkpoints):
  target = evaluation.defend(tiny_model, 'jpeg50', preprocess='inception',
                             name='tiny')
  assert isinstance(target, evaluation.DefendedTarget)
  assert target.name == 'tiny+jpeg50' and target.input_size == 32
  images = textured(2, size=32)
  direct = np.argmax(tiny_model(fia_tf.preprocessing.inception(
      defences.make('jpeg50')(images))), -1)
  np.testing.assert_array_equal(target.predict(images), direct)
  from fia_tf.zoo import registry  # pylint: disable=import-outside-toplevel
  from fia_tf.zoo import tiny  # pylint: disable=import-outside-toplevel
  with registry.registered(*tiny.SPECS):
    named = evaluation.as_target('tiny_vgg+fd+rp',
                                 checkpoint_dir=tiny_checkpoints)
    plain = evaluation.as_target('tiny_vgg', checkpoint_dir=tiny_checkpoints)
    assert named.name == 'tiny_vgg+fd+rp' and named.input_size == 24
    assert named.fingerprint().startswith(plain.fingerprint() + '+fd:v2+rp')
    images = textured(6, size=24)
    by_hand = defences.make('rp')(defences.make('fd')(images))
    np.testing.assert_array_equal(named.predict(images),
                                  plain.predict(by_hand))


# ---- each defence lowers a plain MIM attack's success ------------------------

def _trained_tiny_classifier():
  """A tiny CNN trained here on 800 of the committed Fashion-MNIST images;
  the other 200 are attacked."""
  data = np.load(FASHION_SUBSET)
  images = np.repeat(data['images'], 3, axis=-1).astype(np.float32)
  labels = data['labels'].astype(np.int64)
  keras.utils.set_random_seed(0)
  inputs = keras.Input((28, 28, 3))
  x = keras.layers.Conv2D(16, 3, padding='same', activation='relu')(inputs)
  x = keras.layers.Conv2D(32, 3, strides=2, padding='same',
                          activation='relu', name='feat')(x)
  x = keras.layers.Conv2D(32, 3, strides=2, padding='same',
                          activation='relu')(x)
  x = keras.layers.GlobalAveragePooling2D()(x)
  model = keras.Model(inputs, keras.layers.Dense(10)(x), name='trained')
  model.compile(keras.optimizers.Adam(0.005),
                keras.losses.SparseCategoricalCrossentropy(from_logits=True))
  model.fit(fia_tf.preprocessing.inception(images[:800]), labels[:800],
            epochs=15, batch_size=50, verbose=0)
  return model, images[800:], labels[800:]


@pytest.mark.slow  # trains a model: ~15 s alone, ~30 s on the shared CPU
def test_each_defence_lowers_mim_success():
  model, images, labels = _trained_tiny_classifier()
  source = fia_tf.SourceModel(model, fia_tf.preprocessing.inception, 'feat',
                              name='trained')
  plain = evaluation.as_target(source)
  defended = [evaluation.defend(source, spec) for spec in SPECS]
  sets = transfer.plan_sets(['trained'], ['MIM'],
                            {'eps': 8.0, 'alpha': 0.8, 'num_iter': 10})
  result = transfer.run_in_memory(
      images, labels, np.arange(len(images)), {'trained': source}, sets,
      {'normal': [plain] + defended}, batch_size=100, control=False,
      log=lambda line: None)
  rows = {r['target']: r for r in result.rows}
  # Measured on an AMD EPYC (this seed): clean accuracy 72%, undefended
  # success 47% of the clean-correct images; behind the defences 22-40%.
  assert rows['trained']['clean_accuracy'] >= 0.6
  undefended = rows['trained']['success_correct']
  assert undefended >= 0.3
  for spec in SPECS:
    row = rows[f'trained+{spec}']
    assert row['n_correct'] >= 100, (spec, row)
    # Against the undefended success on the same adversarial images.
    assert row['success_correct'] < undefended, (spec, row, undefended)
