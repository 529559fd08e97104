"""Shared fixtures: tiny deterministic Keras classifiers and test data."""

import ctypes
import gc
import os

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import numpy as np
import pytest

import fia_tf
from tests.helpers import machine
from tests.helpers.models import tiny_cnn


def pytest_report_header(config):
  """Which CPU ran the suite: float results differ across CPUs at the last
  bits, so every log must say where it ran."""
  del config
  return machine.report_line()


@pytest.fixture(scope='session')
def tiny_checkpoints(tmp_path_factory):
  """Slim checkpoints of the tiny zoo (golden-formula weights), once."""
  from fia_tf.zoo import tiny  # pylint: disable=import-outside-toplevel
  return tiny.write_tiny_checkpoints(tmp_path_factory.mktemp('tiny_ckpt'))


@pytest.fixture(scope='session')
def tiny_model():
  return tiny_cnn()


@pytest.fixture(scope='session')
def tiny_source(tiny_model):
  return fia_tf.SourceModel(tiny_model, fia_tf.preprocessing.inception,
                            'feat', name='tiny')


@pytest.fixture(scope='session')
def images():
  rs = np.random.RandomState(1)
  return rs.uniform(0, 255, (6, 32, 32, 3)).round().astype(np.float32)


@pytest.fixture(scope='session')
def labels():
  return np.array([1, 3, 5, 7, 9, 0], np.int32)


@pytest.fixture(scope='module', autouse=True)
def _return_memory_after_each_module():
  """Frees what a module's models and traced graphs held once it is done.

  One process runs the whole suite; TF on CPU allocates through malloc,
  whose freed arenas otherwise stay in the resident set, and the golden
  modules late in the run need several GB of their own (a run without this
  was killed by the 24 GB machine's OOM killer in test_golden_slim).
  """
  yield
  gc.collect()
  if _LIBC is not None:
    _LIBC.malloc_trim(0)


def _libc():
  try:
    libc = ctypes.CDLL('libc.so.6')
    libc.malloc_trim  # pylint: disable=pointless-statement
    return libc
  except (OSError, AttributeError):  # not glibc: nothing to trim
    return None


_LIBC = _libc()

