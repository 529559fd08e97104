"""``AttackLayer``: a configured attack as a Keras layer.

Use it in ``tf.data`` pipelines (``dataset.map(lambda x, y: (layer(x, y), y))``)
or inside a Keras model for adversarial training. The layer holds the source
model as a tracked sub-layer (so saving the outer model saves it) but never
trains it, and its output carries no gradient.
"""

import copy

import keras
import tensorflow as tf

from fia_tf import preprocessing
from fia_tf.attacks import config as config_lib
from fia_tf.attacks import engine as attack_lib
from fia_tf.attacks import source as source_lib


@keras.saving.register_keras_serializable(package='fia_tf')
class AttackLayer(keras.layers.Layer):
  """``layer(images, labels[, ids]) -> adversarial images``.

  Args:
    model: Keras model mapping preprocessed input to logits.
    preprocess: a name from :mod:`fia_tf.preprocessing` (``'identity'``,
      ``'unit'``, ``'inception'``, ``'vgg'``) or a Keras-serialisable function
      mapping 0..255 pixels to model input.
    feature_layer: the feature layer for FIA / NRDM / FDA.
    attack: an :class:`fia_tf.AttackConfig` or its ``to_dict()``.
    training_only: when true, the layer is the identity unless called with
      ``training=True`` (attack while fitting, not while evaluating).
  """

  def __init__(self, model, preprocess='identity', feature_layer=None,
               attack=None, training_only=False, **kwargs):
    kwargs.setdefault('trainable', False)
    super().__init__(**kwargs)
    if isinstance(attack, dict):
      attack = config_lib.AttackConfig.from_dict(attack)
    self.attack_config = attack or config_lib.AttackConfig()
    self.source_model = model
    self.preprocess = preprocess
    self.feature_layer = feature_layer
    self.training_only = bool(training_only)
    self._attack = attack_lib.Attack(
        source_lib.SourceModel(model=model,
                               preprocess=preprocessing.get(preprocess),
                               feature_layer=feature_layer,
                               name=model.name),
        self.attack_config)

  def call(self, images, labels=None, ids=None, training=None):
    if self.training_only and not training:
      return images
    # No gradient flows back through the attack into the source model.
    adversarial = self._attack(tf.stop_gradient(images), labels, ids)
    return tf.stop_gradient(tf.cast(adversarial, images.dtype))

  def compute_output_spec(self, images, labels=None, ids=None, training=None):
    return keras.KerasTensor(images.shape, dtype=images.dtype)

  def get_config(self):
    config = super().get_config()
    config.update(
        model=keras.saving.serialize_keras_object(self.source_model),
        preprocess=(self.preprocess if isinstance(self.preprocess, str) else
                    keras.saving.serialize_keras_object(self.preprocess)),
        feature_layer=self.feature_layer,
        attack=self.attack_config.to_dict(),
        training_only=self.training_only)
    return config

  @classmethod
  def from_config(cls, config):
    config = copy.deepcopy(config)  # deserialisation consumes nested dicts
    config['model'] = keras.saving.deserialize_keras_object(config['model'])
    if not isinstance(config['preprocess'], str):
      config['preprocess'] = keras.saving.deserialize_keras_object(
          config['preprocess'])
    return cls(**config)
