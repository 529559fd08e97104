"""Tiny-zoo fixtures for the sharding tests (registry restored afterwards)."""

import pytest

from fia_tf.zoo import registry
from fia_tf.zoo import tiny


@pytest.fixture(scope='package', autouse=True)
def tiny_zoo_registered():
  """The tiny nets in the registry for this package's tests."""
  with registry.registered(*tiny.SPECS):
    yield


@pytest.fixture(scope='package')
def checkpoints(tiny_checkpoints):
  """Tiny-zoo slim checkpoints (golden-formula weights)."""
  return tiny_checkpoints
