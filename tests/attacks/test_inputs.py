"""Bad inputs raise ValueError naming the argument and the value."""

import numpy as np
import pytest

import fia_tf


@pytest.fixture(scope='module')
def fia(tiny_source):
  return fia_tf.Attack(tiny_source, fia_tf.AttackConfig(ens=2, num_iter=1))


def test_wrong_rank(fia, images):
  with pytest.raises(ValueError, match=r'rank 4.*\(32, 32, 3\)'):
    fia(images[0], [1])


def test_wrong_dtype(fia, images):
  with pytest.raises(ValueError, match='dtype int64'):
    fia(images.astype(np.int64), [1] * 6)
  with pytest.raises(ValueError, match='dtype string'):
    fia(np.array([['a']]), [1])


def test_wrong_size(fia, images):
  with pytest.raises(ValueError, match='height must be 32'):
    fia(np.zeros((1, 31, 32, 3), np.float32), [1])


@pytest.mark.parametrize('bad', [np.nan, np.inf, -np.inf])
def test_non_finite_pixels(fia, images, bad):
  x = images.copy()
  x[0, 3, 4, 1] = bad
  with pytest.raises(ValueError, match=f'finite, got a pixel value {bad}'):
    fia(x, [1] * 6)


def test_pixels_out_of_range(fia, images):
  with pytest.raises(ValueError, match=r'\[0, 255\].*300'):
    fia(images + 300, [1] * 6)


@pytest.mark.parametrize('bad', [-1, 10, 1000])
def test_labels_out_of_range(fia, images, bad):
  with pytest.raises(ValueError, match=rf'labels must be in \[0, 10\), got {bad}'):
    fia(images[:2], [1, bad])


def test_labels_required_for_fia(fia, images):
  with pytest.raises(ValueError, match='needs labels, got None'):
    fia(images[:2])


def test_labels_shape_and_type(fia, images):
  with pytest.raises(ValueError, match='labels must have shape'):
    fia(images[:2], [1, 2, 3])
  with pytest.raises(ValueError, match='labels must be integers'):
    fia(images[:2], [1.0, 2.0])


def test_unknown_layer_lists_closest(tiny_model):
  source = fia_tf.SourceModel(tiny_model, feature_layer='feet')
  with pytest.raises(ValueError, match=r"unknown layer name 'feet'.*'feat'"):
    fia_tf.Attack(source, fia_tf.AttackConfig(method='FIA'))


def test_uint8_images_are_accepted(fia, images, labels):
  out = fia(images.astype(np.uint8), labels)
  assert out.dtype == np.float32 and out.shape == images.shape
