"""Bad input files: odd image modes, symlinks, huge images, label encodings,
checkpoints of another net, hostile .pth files, Unicode-normalised names.

Numbered by the items of issue 15 they pin down. Every file is generated in
``tmp_path``; the binary checks run the tiny zoo (marked ``cli``).
"""

import collections
import io
import json
import os
import pickle
import shutil
import struct
import unicodedata
import warnings
import zlib

import numpy as np
import PIL.Image
import pytest

from fia_tf import data
from fia_tf.zoo import checkpoint
from fia_tf.zoo import testing
from fia_tf.zoo import tiny
from fia_tf.zoo import torch_pickle
from tests.helpers.binaries import TINY
from tests.helpers.binaries import environment
from tests.helpers.binaries import run
from tests.helpers.binaries import run_all
from tests.helpers import paths
from tests.helpers.paths import IMAGES
from tests.helpers.paths import LABELS
from tests.imagenet import legacy_pth

# Four flat 8x8 colour blocks: JPEG keeps flat blocks within a few levels,
# so the expected RGB is known without decoding noise.
_BLOCKS = ((255, 0, 0), (0, 255, 0), (0, 0, 255), (200, 100, 50))
# JPEG (chroma subsampling, DCT rounding) of flat blocks: a few levels.
_JPEG_TOLERANCE = 6


def _blocks():
  pixels = np.zeros((16, 16, 3), np.uint8)
  for k, colour in enumerate(_BLOCKS):
    pixels[8 * (k // 2):8 * (k // 2) + 8, 8 * (k % 2):8 * (k % 2) + 8] = colour
  return pixels


def _centres(pixels):
  return np.array([pixels[8 * (k // 2) + 4, 8 * (k % 2) + 4]
                   for k in range(4)], np.int64)


def _png(width, height, bit_depth, colour_type, raw):
  """A PNG from raw scanlines (filter byte 0 is prepended per row)."""
  def chunk(kind, body):
    return (struct.pack('>I', len(body)) + kind + body +
            struct.pack('>I', zlib.crc32(kind + body) & 0xffffffff))
  header = struct.pack('>IIBBBBB', width, height, bit_depth, colour_type, 0,
                       0, 0)
  idat = chunk(b'IDAT', zlib.compress(raw)) if raw is not None else b''
  return (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', header) + idat +
          chunk(b'IEND', b''))


# ---- 1: image modes ---------------------------------------------------------


def test_01_cmyk_jpeg_is_converted_not_a_negative(tmp_path):
  rgb = _blocks()
  cmyk = PIL.Image.fromarray(rgb).convert('CMYK')
  cmyk.save(tmp_path / 'c.jpg', quality=100)
  assert PIL.Image.open(tmp_path / 'c.jpg').mode == 'CMYK'
  pixels, notes = data.read_image(tmp_path / 'c.jpg')
  assert pixels.shape == (16, 16, 3) and pixels.dtype == np.uint8
  # The CMYK values written, converted with R = (255 - C)(255 - K) / 255.
  c = _centres(np.asarray(cmyk)).astype(np.float64)
  expected = np.rint((255 - c[:, :3]) * (255 - c[:, 3:]) / 255)
  np.testing.assert_allclose(_centres(pixels), expected,
                             atol=_JPEG_TOLERANCE)
  np.testing.assert_allclose(_centres(pixels), _BLOCKS, atol=_JPEG_TOLERANCE)
  assert 'CMYK converted to RGB' in notes
  assert not any('alpha' in n for n in notes)


def test_01_ycbcr_file_is_converted(tmp_path):
  rgb = _blocks()
  ycbcr = PIL.Image.fromarray(rgb).convert('YCbCr')
  # TIFF keeps the YCbCr mode; the .png name is what a user's misnamed
  # file looks like (Pillow reads by content).
  ycbcr.save(tmp_path / 'y.tif')
  shutil.copy(tmp_path / 'y.tif', tmp_path / 'y.png')
  assert PIL.Image.open(tmp_path / 'y.png').mode == 'YCbCr'
  y, cb, cr = (_centres(np.asarray(ycbcr)).astype(np.float64).T)
  # JFIF (ITU-R BT.601 full range) inverse.
  expected = np.stack([y + 1.402 * (cr - 128),
                       y - 0.344136 * (cb - 128) - 0.714136 * (cr - 128),
                       y + 1.772 * (cb - 128)], -1).clip(0, 255)
  pixels, notes = data.read_image(tmp_path / 'y.png')
  # One level of rounding each way (RGB -> YCbCr -> RGB in 8 bits).
  np.testing.assert_allclose(_centres(pixels), expected, atol=1.5)
  np.testing.assert_allclose(_centres(pixels), _BLOCKS, atol=2)
  assert 'YCbCr converted to RGB' in notes


def test_01_16bit_files_are_scaled_by_rounding(tmp_path):
  # Values whose high byte (what Pillow keeps) differs from rint(v / 257).
  values = np.array([[200, 383, 32896], [65535, 129, 40000]], np.uint16)
  expected = np.rint(values / 257.0).astype(np.uint8)
  assert (expected != values >> 8).any()
  # I;16 PNG written by Pillow (grayscale).
  PIL.Image.frombytes('I;16', (3, 2), values.astype('<u2').tobytes()).save(
      tmp_path / 'g.png')
  # 16-bit RGB PNG (big-endian samples, as PNG stores them), by hand.
  rgb16 = np.stack([values, values[::-1], 65535 - values], -1)
  raw = b''.join(b'\x00' + row.astype('>u2').tobytes() for row in rgb16)
  (tmp_path / 'rgb16.png').write_bytes(_png(3, 2, 16, 2, raw))
  # An I;16B file (big-endian mode, kept by TIFF) under a .png name.
  PIL.Image.frombytes('I;16B', (3, 2), values.astype('>u2').tobytes()).save(
      tmp_path / 'b.tif')
  shutil.copy(tmp_path / 'b.tif', tmp_path / 'b.png')
  assert PIL.Image.open(tmp_path / 'b.png').mode == 'I;16B'
  for name in ('g.png', 'b.png'):
    pixels, notes = data.read_image(tmp_path / name)
    np.testing.assert_array_equal(pixels, np.stack([expected] * 3, -1),
                                  err_msg=name)
    assert '16-bit pixels scaled to 8 bits' in notes
  pixels, notes = data.read_image(tmp_path / 'rgb16.png')
  np.testing.assert_array_equal(
      pixels, np.rint(rgb16 / 257.0).astype(np.uint8))
  assert '16-bit pixels scaled to 8 bits' in notes


def test_01_other_modes_convert_or_are_refused_by_name(tmp_path):
  rgb = _blocks()
  image = PIL.Image.fromarray(rgb)
  grey = np.asarray(image.convert('L'))
  image.convert('LA').save(tmp_path / 'la.png')
  image.convert('1').save(tmp_path / 'one.png')
  image.convert('P').save(tmp_path / 'p.png')
  pixels, _ = data.read_image(tmp_path / 'la.png')
  np.testing.assert_array_equal(pixels, np.stack([grey] * 3, -1))
  pixels, notes = data.read_image(tmp_path / 'one.png')
  bits = np.asarray(image.convert('1'), np.uint8) * 255
  np.testing.assert_array_equal(pixels, np.stack([bits] * 3, -1))
  assert '1-bit image scaled to 0/255' in notes
  pixels, _ = data.read_image(tmp_path / 'p.png')
  np.testing.assert_array_equal(pixels, np.asarray(image.convert('P')
                                                   .convert('RGB')))
  # No 0..255 scale: 32-bit integers and floats are refused, by name.
  big = np.array([[70000, -5], [3, 2**30]], np.int32)
  PIL.Image.frombytes('I', (2, 2), big.tobytes()).save(tmp_path / 'i.tif')
  PIL.Image.frombytes('F', (2, 2), np.float32([[0.5, 1e6], [2, 3]])
                      .tobytes()).save(tmp_path / 'f.tif')
  for mode, name in (('I', 'int32.png'), ('F', 'float.png')):
    shutil.copy(tmp_path / f'{mode.lower()}.tif', tmp_path / name)
    with pytest.raises(data.ImageReadError) as e:
      data.read_image(tmp_path / name)
    assert str(e.value).startswith(f'{name}: ')
    assert f"mode '{mode}'" in str(e.value)
    assert 'no defined 0..255 scale' in str(e.value)


# ---- 8: symlinks ------------------------------------------------------------


def _four_images(tmp_path):
  return paths.copy_test_images(tmp_path)


def test_08_dangling_symlinks_and_loops_are_skipped_by_name(tmp_path):
  directory = _four_images(tmp_path)
  os.remove(directory / '2.png')
  os.symlink(tmp_path / 'gone.png', directory / '2.png')
  os.remove(directory / '44.png')
  os.symlink('44.png', directory / '44.png')  # a loop onto itself
  names = data.list_images(directory)
  assert names == ['1.png', '2.png', '44.png', '50.png']
  image_set = data.image_set(directory)
  batch = data.load_batch(directory, image_set.entries, 16)
  assert [e.name for e in batch.entries] == ['1.png', '50.png']
  reasons = dict(batch.skipped)
  assert set(reasons) == {'2.png', '44.png'}
  assert 'dangling symbolic link' in reasons['2.png']
  assert 'gone.png' in reasons['2.png']
  assert reasons['44.png'] == 'symbolic link loop'


# ---- 9: pixel limit ---------------------------------------------------------


def test_09_pixel_limit_is_checked_on_the_header(tmp_path):
  # 12000 x 12000 = 144 Mpx (above Pillow's 89 Mpx warning) with no pixel
  # data at all: decoding it would fail, so the limit message proves the
  # header alone was read.
  (tmp_path / 'huge.png').write_bytes(_png(12000, 12000, 8, 2, None))
  with warnings.catch_warnings():
    warnings.simplefilter('error')  # Pillow's DecompressionBombWarning
    with pytest.raises(data.ImageReadError) as e:
      data.read_image(tmp_path / 'huge.png')
  message = str(e.value)
  assert message.startswith('huge.png: 12000x12000 = 144000000 pixels')
  assert f'limit of {data.DEFAULT_MAX_PIXELS} pixels' in message
  assert data.DEFAULT_MAX_PIXELS == 40_000_000
  # Configurable: a small limit refuses a small image, 0 lifts it.
  PIL.Image.fromarray(_blocks()).save(tmp_path / 'small.png')
  with pytest.raises(data.ImageReadError, match='16x16 = 256 pixels.*limit '
                     'of 255 pixels'):
    data.read_image(tmp_path / 'small.png', max_pixels=255)
  assert data.read_image(tmp_path / 'small.png', max_pixels=256)[0].shape == (
      16, 16, 3)
  with pytest.raises(data.ImageReadError, match='truncated|IDAT|decod|'
                     'cannot read'):
    data.read_image(tmp_path / 'huge.png', max_pixels=0)


# ---- 10: checkpoint of another net ------------------------------------------


def test_10_problem_list_goes_to_a_file_and_is_summarised(tmp_path):
  model = tiny.tiny_net()
  shapes = [(n, w.shape) for n, w in checkpoint.model_variables(model).items()]
  values = testing.golden_weights(shapes, salt=5)
  # Another net's checkpoint: the same variables under another scope, plus
  # one of the right name and the wrong shape.
  other = {n.replace('tiny_net/', 'OtherNet/', 1): v
           for n, v in values.items()}
  other['tiny_net/logits/weights'] = np.zeros((1, 1, 8, 3), np.float32)
  path = testing.write_slim_checkpoint(tmp_path / 'ckpt' / 'other.ckpt',
                                       other)
  problems_dir = tmp_path / 'problems'
  with pytest.raises(checkpoint.CheckpointError) as e:
    checkpoint.load_slim_checkpoint(model, path, problems_dir=problems_dir)
  message = str(e.value)
  missing = len(values) - 1
  total = missing + len(values) + 1
  assert f'{total} problem(s)' in message
  assert f'{missing} missing from the checkpoint (tiny_net/ {missing})' in (
      message)
  assert (f'{len(values)} in the checkpoint but not used by the model '
          f'(OtherNet/ {len(values)})') in message
  assert '1 of another shape in the checkpoint (tiny_net/ 1)' in message
  written = list(problems_dir.glob('fia_tf-checkpoint-problems-*.txt'))
  assert len(written) == 1 and str(written[0]) in message
  lines = written[0].read_text().splitlines()
  assert lines[0].startswith(f'# checkpoint {path}')
  kinds = collections.Counter(line.split('\t')[0] for line in lines[1:])
  assert kinds == {'missing': missing, 'unused': len(values), 'shape': 1}
  for name in other:
    if name.startswith('OtherNet/'):
      assert any(repr(name) in line for line in lines), name


def test_10_default_problem_file_is_outside_the_package(tmp_path,
                                                         monkeypatch):
  monkeypatch.setenv('TMPDIR', str(tmp_path))
  monkeypatch.setattr('tempfile.tempdir', None)
  model = tiny.tiny_net()
  other = {f'OtherNet/v{k}': np.zeros((2,), np.float32) for k in range(15)}
  path = testing.write_slim_checkpoint(tmp_path / 'o.ckpt', other)
  with pytest.raises(checkpoint.CheckpointError) as e:
    checkpoint.load_slim_checkpoint(model, path)
  written = list(tmp_path.glob('fia_tf-checkpoint-problems-*.txt'))
  assert len(written) == 1 and str(written[0]) in str(e.value)
  assert 'no scope in common' in str(e.value)


# ---- 11: label files --------------------------------------------------------


def test_11_labels_with_a_bom_are_read(tmp_path):
  (tmp_path / 'labels.txt').write_bytes(b'\xef\xbb\xbf5\r\n7\n')
  assert data.read_labels_txt(tmp_path / 'labels.txt') == [5, 7]
  (tmp_path / 'dev.csv').write_bytes(
      b'\xef\xbb\xbfImageId,TrueLabel\nb,7\na,3\n')
  assert data.read_dev_csv(tmp_path / 'dev.csv') == [('a', 3), ('b', 7)]


def test_11_decode_errors_name_file_and_line(tmp_path):
  (tmp_path / 'labels.txt').write_bytes(b'5\n7\n\xe9t\xe9\n')
  with pytest.raises(data.DataError) as e:
    data.read_labels_txt(tmp_path / 'labels.txt')
  assert str(e.value).startswith(f'{tmp_path / "labels.txt"} line 3: byte '
                                 '0xe9 at column 1 is not UTF-8')
  (tmp_path / 'dev.csv').write_bytes(b'ImageId,TrueLabel\na,3\ncaf\xe9,4\n')
  with pytest.raises(data.DataError, match=r'dev\.csv line 3: byte 0xe9 at '
                     'column 4'):
    data.read_dev_csv(tmp_path / 'dev.csv')


# ---- 14: hostile .pth files -------------------------------------------------


def test_14_negative_tensor_size_names_the_file(tmp_path):
  storage = legacy_pth.Storage('1', [1.0, 2.0, 3.0])
  state = collections.OrderedDict(
      [('w', legacy_pth.Tensor(storage, 0, (-1, 3), (3, 1)))])
  path = tmp_path / 'negative.pth'
  path.write_bytes(legacy_pth.legacy_bytes(state, [storage]))
  with pytest.raises(torch_pickle.TorchFileError) as e:
    torch_pickle.load_state_dict(path)
  assert str(e.value).startswith(f'{path}: bad tensor geometry')
  assert '(-1, 3)' in str(e.value)


def test_14_deeply_nested_pickle_names_the_file(tmp_path):
  f = io.BytesIO()
  pickle.dump(legacy_pth.MAGIC_NUMBER, f, protocol=2)
  pickle.dump(1001, f, protocol=2)
  pickle.dump({'protocol_version': 1001, 'little_endian': True}, f,
              protocol=2)
  depth = 200_000
  # EMPTY_LIST x depth, then APPEND x (depth - 1): lists nested depth deep.
  f.write(b'\x80\x02' + b']' * depth + b'a' * (depth - 1) + b'.')
  pickle.dump([], f, protocol=2)
  path = tmp_path / 'deep.pth'
  path.write_bytes(f.getvalue())
  with pytest.raises(torch_pickle.TorchFileError) as e:
    torch_pickle.load_state_dict(path)
  assert str(e.value).startswith(f'{path}: ')
  assert 'too deeply' in str(e.value)


# ---- 15: Unicode normalisation ----------------------------------------------


def test_15_nfd_file_names_match_nfc_image_ids(tmp_path):
  nfc = unicodedata.normalize('NFC', 'café')
  nfd = unicodedata.normalize('NFD', 'café')
  assert nfc != nfd
  directory = tmp_path / 'images'
  directory.mkdir()
  shutil.copy(IMAGES / '1.png', directory / f'{nfd}.png')
  shutil.copy(IMAGES / '2.png', directory / 'tea.png')
  (tmp_path / 'dev.csv').write_text(
      f'ImageId,TrueLabel\n{nfc},5\ntea,6\n', encoding='utf-8')
  image_set = data.image_set(directory, tmp_path / 'dev.csv')
  assert [(e.name, e.image_id, e.label) for e in image_set.entries] == [
      (f'{nfd}.png', 1, 5), ('tea.png', 2, 6)]
  batch = data.load_batch(directory, image_set.entries, 16)
  assert len(batch.entries) == 2


def test_15_names_that_look_identical_show_code_points(tmp_path):
  nfc = unicodedata.normalize('NFC', 'café')
  nfd = unicodedata.normalize('NFD', 'café')
  directory = tmp_path / 'images'
  directory.mkdir()
  shutil.copy(IMAGES / '1.png', directory / f'{nfc}.png')
  shutil.copy(IMAGES / '1.png', directory / f'{nfd}.png')
  if len(list(directory.iterdir())) == 1:
    pytest.skip('this file system normalises names itself')
  with pytest.raises(data.DataError) as e:
    data.list_images(directory)
  message = str(e.value)
  assert 'U+0065 U+0301' in message and 'U+00E9' in message
  # An id the CSV does not know: the message shows the code points.
  shutil.rmtree(directory)
  directory.mkdir()
  shutil.copy(IMAGES / '1.png', directory / f'{nfd}x.png')
  shutil.copy(IMAGES / '1.png', directory / 'tea.png')
  (tmp_path / 'dev.csv').write_text(f'ImageId,TrueLabel\n{nfc},5\ntea,6\n',
                                    encoding='utf-8')
  with pytest.raises(data.DataError) as e:
    data.image_set(directory, tmp_path / 'dev.csv')
  assert 'U+0065 U+0301 U+0078' in str(e.value)
  # Two ImageIds that differ only in normalisation are one id, twice.
  (tmp_path / 'twice.csv').write_text(
      f'ImageId,TrueLabel\n{nfc},5\n{nfd},6\n', encoding='utf-8')
  with pytest.raises(data.DataError, match='appears 2 times') as e:
    data.read_dev_csv(tmp_path / 'twice.csv')
  assert 'U+00E9' in str(e.value)


# ---- the binary: --max_pixels and skipped files -----------------------------


@pytest.mark.cli
def test_cli_max_pixels_and_symlinks(tmp_path, tiny_checkpoints):
  directory = _four_images(tmp_path)
  PIL.Image.fromarray(_blocks()).save(directory / '44.png')
  os.remove(directory / '2.png')
  os.symlink(tmp_path / 'gone.png', directory / '2.png')
  out = tmp_path / 'adv'
  result = run('attack.py', TINY, '--model_name=tiny_inception',
               '--attack_method=MIM', '--num_iter=1',
               f'--input_dir={directory}', f'--output_dir={out}',
               f'--checkpoint_dir={tiny_checkpoints}', '--batch_size=4',
               '--max_pixels=256')
  assert sorted(p.name for p in out.glob('*.png')) == ['44.png']
  assert '1 written, 0 already done, 3 skipped' in result.stdout
  assert 'skipped 2.png: dangling symbolic link' in result.stdout
  assert 'skipped 1.png: 299x299 = 89401 pixels is more than the limit of ' \
         '256 pixels' in result.stdout
  record = json.loads((out / 'run.json').read_text())
  assert record['max_pixels'] == 256
  assert sorted(s['file'] for s in record['skipped']) == ['1.png', '2.png',
                                                          '50.png']


@pytest.mark.cli
def test_cli_bad_values_labels_and_checkpoints(tmp_path, tiny_checkpoints):
  directory = _four_images(tmp_path)
  latin1 = tmp_path / 'latin1' / 'labels.txt'
  latin1.parent.mkdir()
  latin1.write_bytes(LABELS.read_bytes() + b'caf\xe9\n')
  # A checkpoint of another net where tiny_inception's should be.
  other = tmp_path / 'other_ckpt'
  (other / 'tiny_inception').mkdir(parents=True)
  testing.write_slim_checkpoint(
      other / 'tiny_inception' / 'tiny_inception.ckpt',
      {f'OtherNet/block{k}/weights': np.zeros((2,), np.float32)
       for k in range(15)})
  problems = tmp_path / 'tmp'
  problems.mkdir()
  common = [TINY, '--model_name=tiny_inception', f'--input_dir={directory}',
            f'--output_dir={tmp_path / "adv"}']
  ckpt = f'--checkpoint_dir={tiny_checkpoints}'
  env = environment(TMPDIR=problems)
  (pixels_status, _, pixels_err), (labels_status, _, labels_err), (
      ckpt_status, _, ckpt_err) = run_all([
          ('attack.py', common + [ckpt, '--max_pixels=-1'], env),
          ('attack.py', common + [ckpt, f'--labels={latin1}'], env),
          ('attack.py', common + [f'--checkpoint_dir={other}'], env)])
  assert pixels_status == 2, pixels_err
  assert '--max_pixels' in pixels_err and '-1' in pixels_err
  assert labels_status == 2, labels_err
  lines = len(LABELS.read_bytes().splitlines()) + 1
  assert (f'error: {latin1} line {lines}: byte 0xe9 at column 4 is not '
          'UTF-8') in labels_err
  assert ckpt_status == 3, ckpt_err
  written = list(problems.glob('fia_tf-checkpoint-problems-*.txt'))
  assert len(written) == 1 and str(written[0]) in ckpt_err
  assert '15 in the checkpoint but not used by the model (OtherNet/ 15)' in (
      ckpt_err)
  assert 'no scope in common' in ckpt_err
  assert 'Traceback' not in ckpt_err + labels_err + pixels_err


def test_09_evaluation_reads_with_the_pixel_limit(tmp_path):
  from fia_tf.evaluation import inputs as inputs_lib  # pylint: disable=import-outside-toplevel

  class MeanTarget:
    """Predicts class 1 for bright images, 0 for dark ones."""
    name = 'mean'
    input_size = 16

    def fingerprint(self):
      return 'mean'

    def predict(self, images):
      return (np.asarray(images).mean(axis=(1, 2, 3)) > 100).astype(int)

  directory = _four_images(tmp_path)
  PIL.Image.fromarray(np.full((16, 16, 3), 200, np.uint8)).save(
      directory / '44.png')
  image_set = data.image_set(directory)
  inputs = inputs_lib.DirectoryInputs(image_set, {}, max_pixels=256)
  predicted = inputs.clean(MeanTarget())
  # Only 44.png (16x16) is read; the 299x299 images are over the limit.
  assert predicted.tolist() == [inputs_lib.MISSING, inputs_lib.MISSING, 1,
                                inputs_lib.MISSING]
  everything = inputs_lib.DirectoryInputs(image_set, {}, max_pixels=0)
  assert inputs_lib.MISSING not in everything.clean(MeanTarget()).tolist()
