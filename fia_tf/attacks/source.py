"""The source-model interface every attack works with.

Pixel contract: attacks work on float images in 0..255 pixel space, shape
``[B, H, W, 3]``. A :class:`SourceModel` says how to turn pixels into model
input (``preprocess``), which Keras model maps that input to *logits*, and
which intermediate layer feature-level attacks (FIA, NRDM, FDA) use. Any Keras
model fits: a ``keras.applications`` network built with
``classifier_activation=None``, a user's model, or a net of the slim zoo.
"""

import dataclasses
import difflib
from typing import Callable, Optional

import keras
import tensorflow as tf


def _identity(x):
  return x


@dataclasses.dataclass(frozen=True)
class SourceModel:
  """A Keras classifier plus what an attack needs to know about it.

  Attributes:
    model: Keras model mapping preprocessed input to logits (no softmax).
    preprocess: maps float pixels in 0..255 to the model's input. Must be
      differentiable TF code.
    feature_layer: name of the layer whose output feature-level objectives
      use. ``None`` is allowed for attacks that only need logits.
    resolve_layer: optional callable mapping user-facing names (for example
      slim op names such as ``vgg_16/conv3/conv3_3/Relu``) to Keras layer
      names. It returns ``None`` for names it does not know.
    name: a label for logs and errors.
    inverse: optional inverse of ``preprocess`` (model input -> pixels).
    scale: model-input units per pixel unit when ``preprocess`` is affine
      (``2/255`` for the Inception convention, 1 for VGG). With ``inverse``
      it lets the attack run in the model-input domain, as the original does
      (``AttackConfig(domain='model')``).
  """
  model: keras.Model
  preprocess: Callable[[tf.Tensor], tf.Tensor] = _identity
  feature_layer: Optional[str] = None
  resolve_layer: Optional[Callable[[str], Optional[str]]] = None
  name: str = 'model'
  inverse: Optional[Callable[[tf.Tensor], tf.Tensor]] = None
  scale: Optional[float] = None

  @property
  def input_size(self):
    """(height, width) of the model input."""
    shape = self.model.inputs[0].shape
    return int(shape[1]), int(shape[2])

  @property
  def num_classes(self):
    return int(self.model.outputs[0].shape[-1])

  def layer(self, name=None):
    """Returns the Keras layer for ``name`` (default: ``feature_layer``).

    Raises:
      ValueError: when the name matches no layer; the message lists the
        closest valid names.
    """
    name = self.feature_layer if name is None else name
    if name is None:
      raise ValueError(f'{self.name}: no feature layer given; pass '
                       'feature_layer= to SourceModel')
    if self.resolve_layer is not None:
      resolved = self.resolve_layer(name)
      if resolved is not None:
        name = resolved
    names = [layer.name for layer in self.model.layers]
    if name not in names:
      close = difflib.get_close_matches(name, names, n=5, cutoff=0.4)
      raise ValueError(
          f'{self.name}: unknown layer name {name!r}; closest valid names: '
          f'{close or names[:5]}')
    return self.model.get_layer(name)


def feature_models(source, layer_name=None):
  """Builds the two sub-models a feature-level attack needs.

  Args:
    source: a :class:`SourceModel`.
    layer_name: the feature layer (default: ``source.feature_layer``).

  Returns:
    ``(prefix, features_and_logits)``: ``prefix`` maps model input to the
    layer's output and computes only the part of the network up to that layer
    (used in every iteration); ``features_and_logits`` returns both (used
    once, for the FIA importance weights, so that the gradient of the logits
    can be taken with respect to the returned feature tensor).
  """
  layer = source.layer(layer_name)
  inputs = source.model.inputs
  prefix = keras.Model(inputs, layer.output, name=f'{layer.name}_prefix')
  both = keras.Model(inputs, [layer.output, source.model.outputs[0]],
                     name=f'{layer.name}_and_logits')
  return prefix, both


def suffix_model(source, layer_name=None):
  """The network after the feature layer: features -> logits.

  Objectives that change the feature map and run the rest of the network on
  it (ILPD) need it. It exists when the layer's output alone determines the
  logits: after a ResNet block's output (its ``add`` or the ReLU after it),
  an Inception ``Mixed`` concat, or any layer of a plain chain (VGG). Inside
  a residual block, the rest of the network also reads the block's shortcut,
  computed before the layer, and there is no such model.

  Args:
    source: a :class:`SourceModel`.
    layer_name: the feature layer (default: ``source.feature_layer``).

  Returns:
    A Keras model mapping the layer's output to the logits.

  Raises:
    ValueError: when the layer names no layer, or when the network after it
      needs tensors computed before it (the message says which layers do
      work).
  """
  layer = source.layer(layer_name)
  try:
    return keras.Model(layer.output, source.model.outputs[0],
                       name=f'{layer.name}_suffix')
  except ValueError as error:
    raise ValueError(
        f'{source.name}: the network after layer {layer.name!r} also reads '
        'tensors computed before it (a skip connection around the layer), '
        'so it cannot be run from that layer\'s output alone. Pick a layer '
        'whose output is all the rest of the network sees: a residual '
        'block\'s output (its add / the ReLU after it), an Inception Mixed '
        f'concat, or any layer of a plain chain. Keras said: {error}'
    ) from None
