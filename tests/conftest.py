"""Shared fixtures: tiny deterministic Keras classifiers for engine tests."""

import os

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import keras  # pylint: disable=g-import-not-at-top
import numpy as np
import pytest

import fia_tf
from tests.helpers import machine


def pytest_report_header(config):
  """Which CPU ran the suite: float results differ across CPUs at the last
  bits, so every log must say where it ran."""
  del config
  return machine.report_line()


def tiny_cnn(size=32, channels=3, classes=10, seed=0):
  """conv-relu-conv-(feat)-pool-dense: small, deterministic, non-trivial."""
  keras.utils.set_random_seed(seed)
  inputs = keras.Input((size, size, channels))
  x = keras.layers.Conv2D(8, 3, padding='same', name='conv1')(inputs)
  x = keras.layers.Activation('relu', name='relu1')(x)
  x = keras.layers.Conv2D(16, 3, strides=2, padding='same', name='conv2')(x)
  x = keras.layers.Activation('relu', name='feat')(x)
  x = keras.layers.Conv2D(16, 3, padding='same', activation='relu',
                          name='conv3')(x)
  x = keras.layers.GlobalAveragePooling2D(name='pool')(x)
  outputs = keras.layers.Dense(classes, name='logits')(x)
  return keras.Model(inputs, outputs, name=f'tiny_cnn_{seed}')


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
