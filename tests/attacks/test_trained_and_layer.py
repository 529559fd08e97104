"""On a model trained in the test, attacks work; the Keras layer works in
tf.data, in model.fit, and round-trips its config."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import fia_tf
from tests.helpers import transfer
from tests.helpers.models import tiny_cnn


def _stripes(n, seed):
  """4 classes: stripe orientation x colour, with noise; contrast 90 grey
  levels, learnable in seconds."""
  return transfer.stripes(n, seed, amplitude=90.0)


@pytest.fixture(scope='module')
def trained():
  model = tiny_cnn(classes=4, seed=5)
  x, y = _stripes(2000, 0)
  model.compile(optimizer=keras.optimizers.Adam(3e-3),
                loss=keras.losses.SparseCategoricalCrossentropy(
                    from_logits=True), metrics=['accuracy'])
  model.fit(fia_tf.preprocessing.inception(x), y, epochs=4, batch_size=64,
            verbose=0)
  return model


def _accuracy(model, images, labels):
  logits = model(fia_tf.preprocessing.inception(images), training=False)
  return float(np.mean(np.argmax(logits, -1) == labels))


@pytest.mark.parametrize('method', ['MIM', 'FIA', 'FIAPIDIM'])
def test_attacks_lower_accuracy_of_a_trained_model(trained, method):
  x, y = _stripes(64, 1)
  clean = _accuracy(trained, x, y)
  assert clean >= 0.9, f'test model did not train: {clean}'
  source = fia_tf.SourceModel(trained, fia_tf.preprocessing.inception, 'feat')
  adv = fia_tf.Attack(source, fia_tf.AttackConfig(method=method))(x, y)
  attacked = _accuracy(trained, adv.numpy(), y)
  assert attacked <= clean - 0.3, (clean, attacked)


def _layer(model, **kw):
  return fia_tf.AttackLayer(
      model, preprocess='inception', feature_layer='feat',
      attack=fia_tf.AttackConfig(method='FIA', ens=3, num_iter=3), **kw)


def test_layer_inside_tf_data_map(tiny_model, images, labels):
  layer = _layer(tiny_model)
  dataset = tf.data.Dataset.from_tensor_slices((images, labels)).batch(4)
  dataset = dataset.map(lambda x, y: (layer(x, y), y))
  mapped = np.concatenate([x.numpy() for x, _ in dataset])
  direct = layer._attack(images, labels).numpy()
  np.testing.assert_array_equal(mapped, direct)
  assert np.abs(mapped - images).max() > 1


def test_layer_config_round_trip(tiny_model, images, labels):
  layer = _layer(tiny_model, training_only=True)
  config = layer.get_config()
  again = fia_tf.AttackLayer.from_config(config)
  assert again.get_config() == config
  again.source_model.set_weights(tiny_model.get_weights())
  np.testing.assert_array_equal(
      again(images, labels, training=True).numpy(),
      layer(images, labels, training=True).numpy())
  # training_only: identity outside training.
  np.testing.assert_array_equal(again(images, labels).numpy(), images)


def test_adversarial_training_with_model_fit():
  classifier = tiny_cnn(classes=4, seed=8)
  images = keras.Input((32, 32, 3))
  labels = keras.Input((), dtype='int32')
  attack = fia_tf.AttackLayer(
      classifier, preprocess='inception',
      attack=fia_tf.AttackConfig(method='MIM', num_iter=2, eps=8.0,
                                 alpha=4.0, ce_labels='true'),
      training_only=True)
  adversarial = attack(images, labels)
  logits = classifier(fia_tf.preprocessing.inception(adversarial))
  trainer = keras.Model([images, labels], logits)
  trainer.compile(optimizer=keras.optimizers.Adam(3e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(
                      from_logits=True))
  # The attack layer adds no trainable weights of its own.
  assert len(trainer.trainable_weights) == len(classifier.trainable_weights)
  x, y = _stripes(512, 2)
  before = [w.copy() for w in classifier.get_weights()]
  history = trainer.fit([x, y], y, epochs=2, batch_size=64, verbose=0)
  losses = history.history['loss']
  assert np.all(np.isfinite(losses)) and losses[-1] < losses[0]
  assert any(np.abs(a - b).max() > 0 for a, b in
             zip(before, classifier.get_weights()))
  # Training saw adversarial inputs: their loss exceeds the clean loss.
  clean_loss = trainer.evaluate([x, y], y, verbose=0)
  adv_x = attack(x, y, training=True)
  adv_loss = float(keras.losses.SparseCategoricalCrossentropy(
      from_logits=True)(y, classifier(fia_tf.preprocessing.inception(adv_x))))
  assert adv_loss > clean_loss
