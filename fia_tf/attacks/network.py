"""The source model as attack parts see it.

The engine hands every part a :class:`Network`: pixel preprocessing, the
forward passes (logits, or features up to the source's feature layer), the
gradient of a function of the logits with respect to the features, and
:meth:`Network.aggregate`, the memory-bounded loop that sums such gradients
over many copies of each image (FIA's masked copies, and the copies of the
attacks that build on it). Parts never touch the Keras model directly, so
the loop that makes copy aggregation fast and deterministic exists once.
"""

import numpy as np
import tensorflow as tf

from fia_tf.attacks import source as source_lib


def activation_bytes(model):
  """Float32 bytes of all layer outputs of ``model`` for one image.

  A rough upper bound of the activations one forward pass keeps for its
  backward pass, used to size the copy passes.
  """
  total = 0
  for layer in model.layers:
    outputs = layer.output if isinstance(layer.output, (list, tuple)) else [
        layer.output]
    for out in outputs:
      dims = [d for d in out.shape[1:]]
      if all(d is not None for d in dims):
        total += int(np.prod(dims)) * 4
  return max(total, 1)


def pass_layout(batch, copies, copy_batch):
  """Splits ``batch`` images x ``copies`` copies into balanced passes.

  A pass takes as many whole images as fit in ``copy_batch`` copies (at
  least one) and then as many copies of each as fit; both counts are
  rebalanced so the last pass wastes as little as possible. Works on Python
  ints (static shapes) and on int32 tensors.

  Returns:
    ``(images_per_pass, copies_per_pass, image_blocks, copy_passes)``.
  """
  static = isinstance(batch, int)
  minimum, maximum = (min, max) if static else (tf.minimum, tf.maximum)

  def ceil_div(a, b):
    return (a + b - 1) // b
  images_per_pass = maximum(minimum(batch, copy_batch), 1)
  blocks = ceil_div(batch, images_per_pass)
  images_per_pass = ceil_div(batch, maximum(blocks, 1))
  copies_per_pass = minimum(maximum(copy_batch // maximum(images_per_pass, 1),
                                    1), copies)
  copy_passes = ceil_div(copies, copies_per_pass)
  copies_per_pass = ceil_div(copies, copy_passes)
  return images_per_pass, copies_per_pass, blocks, copy_passes


class Network:
  """A :class:`fia_tf.SourceModel` plus the passes attack parts need.

  Args:
    source: the source model.
    layer_name: feature layer overriding ``source.feature_layer`` (used
      once :meth:`use_features` builds the feature sub-models).
    unroll: unroll Python loops over passes (under XLA, whose CPU backend
      runs ``while_loop`` bodies slowly; needs static batch sizes).
    mask_batch: copies per pass of :meth:`aggregate`; ``None`` derives it
      from ``memory_budget`` and the per-copy activation size.
    memory_budget: bytes of activations one pass may hold.
  """

  def __init__(self, source, layer_name=None, *, unroll, mask_batch,
               memory_budget):
    self.source = source
    self.model = source.model
    shape = self.model.inputs[0].shape
    if len(shape) != 4:
      raise ValueError(f'{source.name}: the model input must be [B, H, W, C], '
                       f'got {tuple(shape)}')
    self.image_shape = tuple(shape[1:])
    if self.image_shape[2] is None:
      raise ValueError(f'{source.name}: the model input needs a static '
                       'channel count')
    self.num_classes = source.num_classes
    self.unroll = unroll
    self.memory_budget = memory_budget
    self._mask_batch = mask_batch
    self._layer_name = layer_name
    self.feature_model = self.features_and_logits = self.layer_name = None
    self.suffix_model = None

  def use_features(self):
    """Builds the feature sub-models (once).

    Raises:
      ValueError: when the feature layer names no layer of the model (the
        message lists the closest names).
    """
    if self.feature_model is None:
      self.feature_model, self.features_and_logits = (
          source_lib.feature_models(self.source, self._layer_name))
      self.layer_name = self.feature_model.outputs[0].name

  def use_suffix(self):
    """Builds the feature sub-models and the suffix model (once).

    The suffix maps the feature layer's output to the logits
    (:func:`fia_tf.attacks.source.suffix_model`), for objectives that run
    the rest of the network on a modified feature map.

    Raises:
      ValueError: for an unknown layer, or one the rest of the network
        does not depend on alone (a layer inside a residual block).
    """
    self.use_features()
    if self.suffix_model is None:
      self.suffix_model = source_lib.suffix_model(self.source,
                                                  self._layer_name)

  # -- forward passes --------------------------------------------------------

  def preprocess(self, pixels):
    """Pixels in 0..255 -> model input."""
    return self.source.preprocess(pixels)

  def logits(self, model_input):
    return self.model(model_input, training=False)

  def features(self, model_input):
    return self.feature_model(model_input, training=False)

  def logits_of_features(self, features):
    """Logits from a feature map, by the suffix (:meth:`use_suffix`)."""
    return self.suffix_model(features, training=False)

  # -- gradients -------------------------------------------------------------

  def feature_gradient(self, model_input, selector, target):
    """``d target(logits, selector) / d features`` at ``model_input``.

    Args:
      model_input: ``[P, H, W, C]``.
      selector: ``[P, num_classes]``, passed to ``target`` (a one-hot label
        per copy, zero rows for padding copies).
      target: ``target(logits, selector) -> scalar``, e.g. the sum of the
        selected logits.
    """
    with tf.GradientTape(watch_accessed_variables=False) as tape:
      tape.watch(model_input)
      features, logits = self.features_and_logits(model_input, training=False)
      value = target(logits, selector)
    return tape.gradient(value, features)

  # -- copy aggregation ------------------------------------------------------

  @property
  def mask_batch(self):
    """Copies per pass of :meth:`aggregate` (at most 1024)."""
    if self._mask_batch is None:
      per_copy = activation_bytes(self.features_and_logits)
      self._mask_batch = int(min(max(self.memory_budget // per_copy, 1), 1024))
    return self._mask_batch

  def pass_layout(self, batch, copies):
    """:func:`pass_layout` of ``batch`` images with ``copies`` copies each."""
    return tuple(int(v) for v in pass_layout(int(batch), copies,
                                             self.mask_batch))

  def aggregate(self, images, ids, rows, copies, make_copy, target):
    """Sums feature gradients over ``copies`` copies of every image.

    For image ``i`` and copy ``k < copies``, ``make_copy(pixels, k, id)``
    gives the model input and ``target(logits, selector)`` the quantity
    differentiated, with ``selector`` the image's row of ``rows``. The
    ``B * copies`` copies run in passes of at most :attr:`mask_batch`
    (:meth:`pass_layout`; the last ones padded with copies whose selector
    is zero, so they contribute exactly nothing), inside one graph loop, so
    peak memory is bounded whatever B and the copy count are. Each image's
    gradients are added one copy at a time in copy order: every image's sum
    is the same float sequence whatever the batch, the pass size or the
    device split, so results are bit-identical across them.

    Args:
      images: ``[B, H, W, C]`` pixels.
      ids: ``[B]`` int64 image ids (keys of the copies' randomness).
      rows: ``[B, num_classes]`` selector row of each image.
      copies: copies per image (a Python int >= 1).
      make_copy: ``make_copy(pixels [P, ...], copy_index [P], ids [P])``
        -> model input ``[P, ...]``.
      target: see :meth:`feature_gradient`.

    Returns:
      ``[B, *feature_shape]``, the summed gradients.
    """
    batch = images.shape[0]
    unroll = self.unroll and batch is not None
    loop = range if unroll else tf.range
    if not unroll:
      batch = tf.shape(images)[0]
    images_per_pass, copies_per_pass, blocks, copy_passes = pass_layout(
        batch, copies, self.mask_batch)
    feature_shape = self.features_and_logits.outputs[0].shape[1:]
    blocks_out = tf.TensorArray(tf.float32, size=blocks, infer_shape=False)
    for block in loop(blocks):
      # Copies of one pass, copy-major: [copies_per_pass, images_per_pass].
      image = block * images_per_pass + tf.range(images_per_pass)
      image_ok = image < batch
      image = tf.minimum(image, batch - 1)
      block_ids = tf.gather(ids, image)
      block_pixels = tf.gather(images, image)
      block_rows = tf.gather(rows, image)
      aggregate = tf.zeros(tf.concat([[images_per_pass], feature_shape], 0),
                           tf.float32)
      for step in loop(copy_passes):
        copy_index = step * copies_per_pass + tf.range(copies_per_pass)
        valid = (tf.logical_and((copy_index < copies)[:, None],
                                image_ok[None, :]))
        copy_index = tf.minimum(copy_index, copies - 1)
        copy_of = tf.reshape(tf.repeat(copy_index, images_per_pass), [-1])
        copy_ids = tf.tile(block_ids, [copies_per_pass])
        model_input = make_copy(
            tf.tile(block_pixels, [copies_per_pass, 1, 1, 1]), copy_of,
            copy_ids)
        # Padding copies (past the copy count or past the batch) select
        # nothing, so their gradient is exactly zero.
        selector = (tf.tile(block_rows, [copies_per_pass, 1]) *
                    tf.cast(tf.reshape(valid, [-1]), tf.float32)[:, None])
        grads = tf.reshape(
            self.feature_gradient(model_input, selector, target),
            tf.concat([[copies_per_pass, images_per_pass], feature_shape], 0))
        # One copy at a time, in copy order (see above).
        for j in loop(copies_per_pass):
          aggregate = aggregate + grads[j]
      blocks_out = blocks_out.write(block, aggregate)
    return blocks_out.concat()[:batch]
