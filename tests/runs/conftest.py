"""The runs tests use the tiny zoo in the registry (restored afterwards)."""

import pytest

from fia_tf.zoo import registry
from fia_tf.zoo import tiny


@pytest.fixture(scope='package', autouse=True)
def tiny_zoo_registered():
  with registry.registered(*tiny.SPECS):
    yield
