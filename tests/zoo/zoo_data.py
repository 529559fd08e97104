"""Golden data access shared by the slim model zoo tests."""

import json
import os

import numpy as np

DATA = os.path.join(os.path.dirname(__file__), os.pardir, 'data')
GOLDEN = os.path.join(DATA, 'golden')
IMAGES = os.path.join(DATA, 'nips17')
# The 224 nets saw the center crop of the 299x299 images (no resampling).
CROP_224 = (slice(37, 261), slice(37, 261))


def golden_npz(net):
  """The golden reference values of ``net`` (salt 0) as a dict."""
  return dict(np.load(os.path.join(GOLDEN, 'salt0', f'{net}.npz')))


def golden_manifest(net):
  """The golden variable manifest of ``net``."""
  with open(os.path.join(GOLDEN, 'manifests', f'{net}.json')) as f:
    return json.load(f)


def load_images(size=299):
  """1.png and 2.png as float64 RGB pixels, [2, size, size, 3]."""
  import imageio.v3 as iio  # pylint: disable=import-outside-toplevel
  batch = np.stack([iio.imread(os.path.join(IMAGES, f)).astype(np.float64)
                    for f in ('1.png', '2.png')])
  if size == 224:
    batch = batch[:, CROP_224[0], CROP_224[1]]
  elif size != 299:
    raise ValueError(f'no golden input of size {size}')
  return batch


def rel_err(actual, expected):
  """max |actual - expected| / max |expected| (norm-wise relative error)."""
  actual = np.asarray(actual, np.float64)
  expected = np.asarray(expected, np.float64)
  return float(np.max(np.abs(actual - expected)) / np.max(np.abs(expected)))

