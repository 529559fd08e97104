"""Where the repository's test data and committed assets are."""

import pathlib
import shutil

REPO = pathlib.Path(__file__).resolve().parents[2]
DATA = REPO / 'tests' / 'data'
# The four NIPS'17 dev images 1, 2, 44, 50 and labels.txt lines for them.
IMAGES = DATA / 'nips17'
LABELS = DATA / 'cli' / 'labels.txt'
DEV_CSV = DATA / 'cli' / 'dev_dataset_4.csv'
# Committed assets of the demos.
MINI_MODELS = REPO / 'models' / 'mini'
FASHION_SUBSET = REPO / 'data' / 'fashion_mnist' / 'test_subset_1000.npz'
IMAGENET_DEMO = REPO / 'data' / 'imagenet_demo'
CONFIGS = REPO / 'experiments' / 'configs'


def copy_test_images(root):
  """The four test images in ``root/images``, ``labels.txt`` in ``root``.

  Returns:
    The image directory.
  """
  directory = pathlib.Path(root) / 'images'
  directory.mkdir()
  for path in IMAGES.glob('*.png'):
    shutil.copy(path, directory / path.name)
  shutil.copy(LABELS, pathlib.Path(root) / 'labels.txt')
  return directory
