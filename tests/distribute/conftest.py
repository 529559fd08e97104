"""Tiny-zoo fixtures for the sharding tests (registry restored afterwards)."""

import pytest


@pytest.fixture(scope='package', autouse=True)
def tiny_zoo_registered():
  """Registers the tiny nets here (another package may have removed them
  after importing fia_tf.tiny_zoo) and removes those it added afterwards."""
  from fia_tf import tiny_zoo  # pylint: disable=import-outside-toplevel
  from fia_tf.zoo import registry  # pylint: disable=import-outside-toplevel
  before = {n for n in tiny_zoo.TINY_MODELS if n in registry.REGISTRY}
  tiny_zoo.register_tiny_zoo()
  yield
  # Leave the registry as found: other packages may rely on the nets that
  # importing fia_tf.tiny_zoo registered.
  for name in set(tiny_zoo.TINY_MODELS) - before:
    registry.REGISTRY.pop(name, None)


@pytest.fixture(scope='package')
def checkpoints(tmp_path_factory, tiny_zoo_registered):
  """Tiny-zoo slim checkpoints (golden-formula weights)."""
  del tiny_zoo_registered
  from fia_tf import tiny_zoo  # pylint: disable=import-outside-toplevel
  return tiny_zoo.write_tiny_checkpoints(tmp_path_factory.mktemp('ckpt'))
