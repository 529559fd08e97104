"""Tiny-zoo fixtures for the sharding tests (registry restored afterwards)."""

import pytest


@pytest.fixture(scope='package', autouse=True)
def tiny_zoo_registered():
  """Registers the tiny nets here (another package may have removed them
  after importing fia_tf.tiny_zoo) and removes them again afterwards."""
  from fia_tf import tiny_zoo  # pylint: disable=import-outside-toplevel
  from fia_tf.zoo import registry  # pylint: disable=import-outside-toplevel
  tiny_zoo.register_tiny_zoo()
  yield
  for name in tiny_zoo.TINY_MODELS:
    registry.REGISTRY.pop(name, None)


@pytest.fixture(scope='package')
def checkpoints(tmp_path_factory, tiny_zoo_registered):
  """Tiny-zoo slim checkpoints (golden-formula weights)."""
  del tiny_zoo_registered
  from fia_tf import tiny_zoo  # pylint: disable=import-outside-toplevel
  return tiny_zoo.write_tiny_checkpoints(tmp_path_factory.mktemp('ckpt'))
