"""Fixtures of the CLI tests: tiny-zoo checkpoints and image directories.

The binaries run as subprocesses (:mod:`tests.helpers.binaries`) with the
venv's python on the tiny zoo (``--model_module=fia_tf.zoo.tiny``:
random-weight 24-32 px slim-style nets) and the four images of
tests/data/nips17. Every test here is marked ``cli``.
"""


import pytest

from fia_tf.zoo import registry
from fia_tf.zoo import tiny
from tests.helpers import paths


def pytest_collection_modifyitems(items):
  for item in items:
    if '/tests/cli/' in str(item.fspath):
      item.add_marker(pytest.mark.cli)


@pytest.fixture(scope='package', autouse=True)
def tiny_zoo_registered():
  """The tiny nets in the registry for this package's in-process checks
  (the binaries register them themselves from --model_module)."""
  with registry.registered(*tiny.SPECS):
    yield


@pytest.fixture(scope='session')
def checkpoints(tiny_checkpoints):
  return tiny_checkpoints


@pytest.fixture
def image_dir(tmp_path):
  """A copy of the four test images with labels.txt next to them."""
  return paths.copy_test_images(tmp_path)
