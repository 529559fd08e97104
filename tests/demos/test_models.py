"""Every committed mini model loads, has its FIA layers, stays small and
reaches its recorded accuracy on the committed subset."""

import numpy as np
import pytest

from fia_tf.data import fashion_mnist as data
from fia_tf.demos.mini import models as zoo
from fia_tf.demos.mini import train
from tests.helpers.paths import FASHION_SUBSET
from tests.helpers.paths import MINI_MODELS

COMMITTED = [s.name for s in zoo.SPECS]


@pytest.fixture(scope='module')
def subset():
  images, labels, _ = data.load_subset(FASHION_SUBSET)
  return images, labels


@pytest.fixture(scope='module')
def recorded():
  return zoo.recorded_accuracy(MINI_MODELS)


@pytest.mark.parametrize('name', COMMITTED)
def test_model_reaches_recorded_accuracy(name, subset, recorded):
  model = zoo.load(name, MINI_MODELS)
  acc = train.accuracy(model, *subset)
  # Same weights, same images: only float summation order may differ.
  assert acc == pytest.approx(recorded[name]['subset_accuracy'], abs=0.002)
  assert model.count_params() == recorded[name]['params']
  assert 10_000 <= model.count_params() <= 300_000


@pytest.mark.parametrize('name', [s.name for s in zoo.specs('normal')])
def test_normal_models_are_accurate(name, recorded):
  assert recorded[name]['test_accuracy'] >= 0.90


def test_zoo_has_the_papers_families():
  normal = {s.name for s in zoo.specs('normal')}
  assert {'vgg', 'resnet_v1', 'resnet_v2', 'inception'} <= normal
  defences = zoo.specs('defence')
  assert len(defences) >= 2
  statics = {s.name for s in zoo.specs('static')}
  for spec in defences:
    # Static models lend FGSM examples but are never sources or targets.
    assert spec.static and set(spec.static) <= statics


@pytest.mark.parametrize('spec', zoo.SPECS, ids=lambda s: s.name)
def test_feature_layers_exist(spec):
  model = spec.build()
  names = {layer.name for layer in model.layers}
  assert spec.feature_layer in names
  assert set(spec.depth_layers) <= names
  source = zoo.source(spec.name, model)
  assert source.layer().name == spec.feature_layer
  assert source.input_size == (28, 28) and source.num_classes == 10


def test_missing_weights_message(tmp_path):
  with pytest.raises(FileNotFoundError, match='make train-mini'):
    zoo.load('vgg', tmp_path)


def test_unknown_model():
  with pytest.raises(ValueError, match='known'):
    zoo.spec('alexnet')


def test_training_smoke(tmp_path):
  """One short epoch of each kind of training runs and improves on chance."""
  images, labels, _ = data.load_subset(FASHION_SUBSET)
  spec = zoo.spec('static_mlp')
  config = train.TrainConfig(batch_size=50)
  model, history = train.train_one(spec, (images, labels),
                                   (images[:200], labels[:200]), config,
                                   log=None)
  assert history[-1]['test_accuracy'] > 0.5
  import dataclasses  # pylint: disable=g-import-not-at-top
  defence = dataclasses.replace(zoo.spec('ens3_adv_inception'), epochs=1,
                                build=lambda: zoo.mlp(64, name='tiny'))
  statics = {n: model for n in defence.static}
  _, history = train.train_one(defence, (images, labels),
                               (images[:200], labels[:200]), config, statics,
                               log=None)
  assert np.isfinite(history[-1]['loss'])
