"""fia_tf.data in-process: label formats, ids, conversions (fast)."""

import shutil

import numpy as np
import pytest

from fia_tf import data
from fia_tf.data import files as io
from fia_tf.zoo import tiny
from tests.helpers.paths import DEV_CSV as CSV
from tests.helpers.paths import IMAGES
from tests.helpers.paths import LABELS
IDS = {'000b7d55b6184b08': 389, '001b5e6f1b89fd3b': 577,
       '0d29832e5da60f5f': 973, '0e0299d6352a3fb8': 539}


def test_labels_txt_ids_are_file_stems():
  images = data.image_set(IMAGES, LABELS)
  assert [(e.name, e.image_id, e.label) for e in images.entries] == [
      ('1.png', 1, 389), ('2.png', 2, 577), ('44.png', 44, 973),
      ('50.png', 50, 539)]
  assert images.unused_labels == 996


def test_csv_by_image_id_and_by_row(tmp_path):
  named = tmp_path / 'named'
  named.mkdir()
  for k, image_id in zip((1, 2, 44, 50), sorted(IDS)):
    shutil.copy(IMAGES / f'{k}.png', named / f'{image_id}.png')
  images = data.image_set(named, CSV)
  assert [(e.stem, e.image_id, e.label) for e in images.entries] == [
      (i, row, IDS[i]) for row, i in enumerate(sorted(IDS), start=1)]
  numbered = tmp_path / 'numbered'
  numbered.mkdir()
  for k in (1, 2, 3, 4):
    shutil.copy(IMAGES / '1.png', numbered / f'{k}.png')
  images = data.image_set(numbered, CSV)
  assert [e.label for e in images.entries] == [IDS[i] for i in sorted(IDS)]


def test_bad_label_lines_are_named(tmp_path):
  (tmp_path / 'labels.txt').write_text('5\nseven\n')
  with pytest.raises(data.DataError, match=r"line 2: 'seven' is not"):
    data.read_labels_txt(tmp_path / 'labels.txt')
  (tmp_path / 'labels.txt').write_text('5\n1001\n')
  with pytest.raises(data.DataError, match='label 1001 is outside'):
    data.read_labels_txt(tmp_path / 'labels.txt')


def test_rounding_not_truncation(tmp_path):
  pixels = np.array([[[0.4, 0.6, 254.5], [255.7, -3.0, 127.49]]])
  np.testing.assert_array_equal(io.to_uint8(pixels),
                                [[[0, 1, 254], [255, 0, 127]]])
  path = io.save_png(tmp_path / 'x.png', pixels)
  assert path.read_bytes() == io.encode_png(io.to_uint8(pixels))
  assert [p.name for p in tmp_path.iterdir()] == ['x.png']


def test_resize_filter_is_antialiased_bilinear():
  stripes = np.zeros((8, 8, 3), np.float32)
  stripes[:, ::2] = 255
  small = data.resize(stripes, 4)
  # Antialiasing averages the stripes (away from the borders); plain
  # bilinear samples them and aliases.
  np.testing.assert_allclose(small[:, 1:3], 127.5, atol=1.0)


def test_labels_that_do_not_match_the_images(tmp_path):
  short = tmp_path / 'short'
  short.mkdir()
  for k in (1, 2, 3):
    shutil.copy(IMAGES / '1.png', short / f'{k}.png')
  (tmp_path / 'labels.txt').write_text('5\n7\n')
  with pytest.raises(data.DataError, match=r'3.png.*it has 2 lines'):
    data.image_set(short)
  csv_dir = tmp_path / 'csv'
  csv_dir.mkdir()
  shutil.copy(IMAGES / '1.png', csv_dir / 'abc123.png')
  (csv_dir / 'dev_dataset.csv').write_text('ImageId,TrueLabel\nfff000,5\n')
  with pytest.raises(data.DataError, match=r'abc123.png'):
    data.image_set(csv_dir)
  with pytest.raises(data.DataError, match='no labels for'):
    data.image_set(IMAGES)
  with pytest.raises(data.DataError, match='does not exist'):
    data.image_set(tmp_path / 'nope')


def test_engine_errors_name_the_bad_value(tiny_checkpoints):
  import fia_tf  # pylint: disable=import-outside-toplevel
  with pytest.raises(ValueError, match="unknown attack method 'FIAXYZ'"):
    fia_tf.AttackConfig(method='FIAXYZ')
  with pytest.raises(ValueError, match="unknown layer 'tiny_net/nope'"):
    tiny.tiny_spec('tiny_vgg').source_model(
        checkpoint_dir=tiny_checkpoints, feature_layer='tiny_net/nope')
