"""The Fashion-MNIST loader: IDX files, the Debian path, the fallbacks, the
committed subset and the message when nothing is there."""

import numpy as np
import pytest

from fia_tf.data import fashion_mnist as data
from tests.helpers.paths import FASHION_SUBSET


def _fake_split(directory, split, n, gz, seed=0):
  rs = np.random.RandomState(seed)
  images = rs.randint(0, 256, (n, 28, 28)).astype(np.uint8)
  labels = rs.randint(0, 10, n).astype(np.uint8)
  image_stem, label_stem = data.SPLIT_FILES[split]
  suffix = '.gz' if gz else ''
  data.write_idx(directory / (image_stem + suffix), images)
  data.write_idx(directory / (label_stem + suffix), labels)
  return images, labels


@pytest.mark.parametrize('gz', [False, True])
def test_idx_round_trip(tmp_path, gz):
  array = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
  path = tmp_path / ('x.idx' + ('.gz' if gz else ''))
  data.write_idx(path, array)
  np.testing.assert_array_equal(data.read_idx(path), array)


def test_corrupt_idx_is_named(tmp_path):
  path = tmp_path / 'bad'
  path.write_bytes(b'\x00\x00\x08\x01\x00\x00\x00\x05abc')
  with pytest.raises(ValueError, match='bytes'):
    data.read_idx(path)
  path.write_bytes(b'PK\x03\x04')
  with pytest.raises(ValueError, match='not an IDX file'):
    data.read_idx(path)


def test_debian_path_is_used(tmp_path, monkeypatch):
  images, labels = _fake_split(tmp_path, 'test', 7, gz=True)
  monkeypatch.setattr(data, 'DEBIAN_DIR', tmp_path)
  lines = []
  x, y, source = data.load('test', allow_download=False, log=lines.append)
  assert x.shape == (7, 28, 28, 1) and x.dtype == np.uint8
  np.testing.assert_array_equal(x[..., 0], images)
  np.testing.assert_array_equal(y, labels)
  assert str(tmp_path) in source and str(tmp_path) in lines[0]


def test_given_path_comes_before_debian(tmp_path, monkeypatch):
  mine, debian = tmp_path / 'mine', tmp_path / 'debian'
  mine.mkdir()
  debian.mkdir()
  want, _ = _fake_split(mine, 'train', 3, gz=False, seed=1)
  _fake_split(debian, 'train', 5, gz=True, seed=2)
  monkeypatch.setattr(data, 'DEBIAN_DIR', debian)
  x, _, source = data.load('train', path=mine, allow_download=False, log=None)
  np.testing.assert_array_equal(x[..., 0], want)
  assert str(mine) in source


def test_falls_back_to_download(tmp_path, monkeypatch):
  monkeypatch.setattr(data, 'DEBIAN_DIR', tmp_path / 'nothing')
  fake = (np.zeros((2, 28, 28, 1), np.uint8), np.array([1, 2], np.int32))
  monkeypatch.setattr(data, '_keras_download', lambda split: fake)
  x, y, source = data.load('test', log=None)
  assert len(x) == 2 and 'keras.datasets' in source


def test_missing_data_says_what_was_tried(tmp_path, monkeypatch):
  monkeypatch.setattr(data, 'DEBIAN_DIR', tmp_path / 'nothing')

  def offline(split):
    raise OSError('network unreachable')

  monkeypatch.setattr(data, '_keras_download', offline)
  (tmp_path / 'empty').mkdir()
  with pytest.raises(data.DataNotFoundError) as info:
    data.load('train', path=tmp_path / 'empty', log=None)
  message = str(info.value)
  assert 'train-images-idx3-ubyte' in message  # the given dir lacks it
  assert 'nothing: no such directory' in message
  assert 'network unreachable' in message
  assert 'apt-get install dataset-fashion-mnist' in message


def test_bad_split():
  with pytest.raises(ValueError, match='split'):
    data.load('valid')


def test_committed_subset():
  images, labels, indices = data.load_subset(FASHION_SUBSET)
  assert images.shape == (1000, 28, 28, 1) and images.dtype == np.float32
  assert images.min() >= 0 and images.max() <= 255
  assert np.all(images == np.round(images))
  np.testing.assert_array_equal(np.bincount(labels, minlength=10),
                                [100] * 10)
  assert len(np.unique(indices)) == 1000 and np.all(np.diff(indices) > 0)
  assert indices.min() >= 0 and indices.max() < 10000
  assert FASHION_SUBSET.stat().st_size < 1_000_000


def test_subset_choice_is_reproducible():
  labels = np.repeat(np.arange(10), 1000)
  a, b = data.make_subset(labels), data.make_subset(labels)
  np.testing.assert_array_equal(a, b)
  np.testing.assert_array_equal(np.bincount(labels[a]), [100] * 10)


def test_missing_subset_message(tmp_path):
  with pytest.raises(data.DataNotFoundError, match='committed'):
    data.load_subset(tmp_path / 'none.npz')
