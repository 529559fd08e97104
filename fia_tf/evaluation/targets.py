"""Targets: what adversarial images are evaluated on.

A :class:`Target` predicts labels, in the data set's label space, for float
pixel images of any size (it resizes them to its input with the one filter
of :mod:`fia_tf.data`). Three kinds plug into the same evaluation:

* :class:`KerasTarget`: any Keras classifier and its preprocessing;
* :class:`RegistryTarget`: a model of the zoo registry with its weights,
  built lazily (so cached predictions never pay for the build);
* wrapped targets (input-transformation defences) that transform the images
  and delegate to another target.

:func:`as_target` turns a registry name, a Keras model, a
:class:`fia_tf.SourceModel` or a target into a target.
"""

import contextlib
import pathlib

import keras
import numpy as np
import tensorflow as tf

from fia_tf import distribute
from fia_tf import faults
from fia_tf import preprocessing
from fia_tf.attacks import source as source_lib
from fia_tf.data import images as images_lib
from fia_tf.zoo import registry


# The prediction of an image whose logits are not all finite.
_NON_FINITE = np.iinfo(np.int32).min


class Target:
  """Base class: a classifier seen from the evaluation.

  Subclasses set :attr:`name` and :attr:`input_size` and implement
  :meth:`_predict` (images already at the input size).
  """
  name = 'target'
  #: Height = width of the input; ``None``: images are taken as given.
  input_size = None

  def predict(self, images):
    """Float pixels ``[B, H, W, C]`` in 0..255 -> int64 labels ``[B]``."""
    images = np.asarray(images, np.float32)
    if images.ndim != 4:
      raise ValueError(f'{self.name}: images must be [B, H, W, C], got shape '
                       f'{images.shape}')
    if not len(images):
      return np.zeros([0], np.int64)
    if self.input_size is not None and images.shape[1:3] != (
        self.input_size, self.input_size):
      images = images_lib.resize(images, self.input_size)
    return np.asarray(self._predict(images), np.int64)

  def _predict(self, images):
    raise NotImplementedError

  def fingerprint(self):
    """Identifies the weights (and wrapping), for prediction caches."""
    return self.name

  def release(self):
    """Frees the model (it is rebuilt if used again)."""


class KerasTarget(Target):
  """A Keras model returning logits (or probabilities), as a target.

  Args:
    model: the Keras model.
    preprocess: a :mod:`fia_tf.preprocessing` name or a function of 0..255
      pixels.
    name: label in tables (default: the model's name).
    label_offset: added to data-set labels to get the model's class index
      (``-1`` for 1000-class ImageNet models on 1001-class labels); the
      predictions are mapped back.
    batch_size: images per model call.
    strategy: optional :class:`tf.distribute.Strategy` sharding every batch.
    fingerprint: identifies the weights for caches (default: the name).
  """

  def __init__(self, model, preprocess='identity', name=None, label_offset=0,
               batch_size=64, strategy=None, fingerprint=None):
    self.name = name or model.name
    self.label_offset = int(label_offset)
    self.batch_size = int(batch_size)
    self.strategy = strategy
    self._fingerprint = fingerprint
    self._model = model
    self._preprocess = preprocessing.get(preprocess)
    shape = model.inputs[0].shape
    self.input_size = (int(shape[1]) if shape[1] is not None and
                       shape[1] == shape[2] else None)
    self._fn = None

  def _compile(self):
    model, preprocess = self._model, self._preprocess

    @tf.function(reduce_retracing=True)
    def predict(images):
      logits = model(preprocess(images), training=False)
      # argmax of NaN logits is a class like any other: mark such images
      # (per image, so that the shards of a strategy concatenate).
      finite = tf.reduce_all(tf.math.is_finite(logits), axis=-1)
      return tf.where(finite,
                      tf.argmax(logits, axis=-1, output_type=tf.int32),
                      _NON_FINITE)
    return predict

  def _predict(self, images):
    if self._fn is None:
      self._fn = self._compile()
    out = []
    for start in range(0, len(images), self.batch_size):
      batch = tf.convert_to_tensor(images[start:start + self.batch_size])
      out.append(distribute.run_sharded(self.strategy, self._fn,
                                        batch).numpy())
    raw = np.concatenate(out)
    bad = int(np.sum(raw == _NON_FINITE))
    if bad:
      raise faults.NonFiniteError(
          f'target {self.name} gave non-finite (NaN or inf) logits for {bad} '
          f'of {len(raw)} images; its checkpoint is broken or does not fit '
          'the model. No result of this evaluation is written')
    return raw.astype(np.int64) - self.label_offset

  def fingerprint(self):
    return self._fingerprint or self.name


class RegistryTarget(KerasTarget):
  """A zoo model with its official (or packaged) weights, built lazily.

  Args:
    name: registry name.
    checkpoint_dir: checkpoint root (default: the registry's).
    strategy: optional :class:`tf.distribute.Strategy`: the model is built
      in its scope and every batch is sharded across its replicas.
    batch_size: images per model call.

  Raises:
    KeyError: unknown name.
    CheckpointNotFoundError: missing checkpoint (at construction, so a run
      fails before any work).
  """

  builds = 0  # models built by all instances (tests check: once per model)

  def __init__(self, name, checkpoint_dir=None, strategy=None, batch_size=50):
    self.spec = registry.get_spec(name)
    self.name = name
    self.input_size = self.spec.input_size
    self.label_offset = self.spec.label_offset
    self.batch_size = int(batch_size)
    self.strategy = strategy
    self.checkpoint_dir = checkpoint_dir
    self.checkpoint, _ = self.spec.find_checkpoint(checkpoint_dir)
    self._fingerprint = None
    self._model = None
    self._fn = None

  def _compile(self):
    # Deferred: when every prediction comes from the cache, the (slow)
    # build and checkpoint load never happen.
    scope = (self.strategy.scope() if self.strategy is not None else
             contextlib.nullcontext())
    with scope:
      model = self.spec.build()
      self.spec.load_weights(model, self.checkpoint_dir)
    RegistryTarget.builds += 1
    self._model, self._preprocess = model, self.spec.preprocess
    return super()._compile()

  @property
  def model(self):
    if self._model is None:
      self._fn = self._compile()
    return self._model

  def fingerprint(self):
    """Checkpoint path, size and modification time of its index."""
    index = pathlib.Path(self.checkpoint + '.index')
    stat = index.stat() if index.exists() else pathlib.Path(
        self.checkpoint).stat()
    return f'{self.name}:{self.checkpoint}:{stat.st_size}:{stat.st_mtime_ns}'

  def release(self):
    self._model = self._fn = None


def as_target(value, **kwargs):
  """A :class:`Target` for a registry name, a Keras model, a
  :class:`fia_tf.SourceModel` or a target (returned as is).

  A name may carry input-transformation defences,
  ``'efficientnet_lite1+jpeg75'`` (:mod:`fia_tf.evaluation.defences`).

  ``kwargs`` go to the target's constructor (``checkpoint_dir``,
  ``strategy``, ``batch_size`` for names; ``name``, ``label_offset``, ...
  for models).
  """
  if isinstance(value, Target):
    return value
  if isinstance(value, str):
    if '+' in value:
      # A defended target, <model>+<defence>...: see fia_tf.evaluation.defences.
      from fia_tf.evaluation import defences  # pylint: disable=import-outside-toplevel
      model, _ = defences.split(value)
      made = defences.check(value)
      return defences.DefendedTarget(RegistryTarget(model, **kwargs), made)
    return RegistryTarget(value, **kwargs)
  if isinstance(value, source_lib.SourceModel):
    kwargs.setdefault('name', value.name)
    return KerasTarget(value.model, value.preprocess, **kwargs)
  if isinstance(value, keras.Model):
    return KerasTarget(value, **kwargs)
  raise ValueError(f'cannot evaluate on a {type(value).__name__}: give a '
                   'registry name, a Keras model, a SourceModel or a Target')
