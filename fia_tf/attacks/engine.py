"""The attack engine: one compiled loop assembled from parts.

``Attack(source, config)(images, labels)`` runs, inside one ``tf.function``:

1. the objective's preparation on the clean images (for FIA: the importance
   weights, aggregated over N masked copies in memory-bounded passes);
2. ``num_iter`` iterations of: the objective's state for the iteration
   (unchanged for most) -> input transform (DI) -> objective value ->
   input gradient -> gradient transform (TI) -> update rule (momentum sign or
   PI) -> projection to the eps-ball (and the pixel range).

The parts come from the name -> factory tables of
:mod:`fia_tf.attacks.parts`; this file names none of them. Images are float
pixels in 0..255; eps and alpha are in the same units.
"""

import numpy as np
import tensorflow as tf

from fia_tf import distribute
from fia_tf.attacks import config as config_lib
from fia_tf.attacks import network as network_lib
from fia_tf.attacks import objectives  # pylint: disable=unused-import
from fia_tf.attacks import gradient_transforms  # pylint: disable=unused-import
from fia_tf.attacks import input_transforms  # pylint: disable=unused-import
from fia_tf.attacks import parts as parts_lib
from fia_tf.attacks import rng
from fia_tf.attacks import source as source_lib
from fia_tf.attacks import updates  # pylint: disable=unused-import

PIXEL_MAX = 255.0


def default_jit_compile():
  """XLA pays on GPUs; on CPUs it measured ~20% slower, so it is off there."""
  return bool(tf.config.list_physical_devices('GPU'))


class Attack:
  """A configured transfer attack against one source model.

  Args:
    source: a :class:`fia_tf.SourceModel` (Keras model returning logits, its
      preprocessing, its feature layer).
    config: an :class:`fia_tf.AttackConfig` (default: FIA, paper settings).
    layer_name: feature layer overriding ``source.feature_layer``.
    strategy: optional :class:`tf.distribute.Strategy`; each call then
      shards its batch across the replicas (:func:`fia_tf.distribute.
      run_sharded`) with byte-identical results. Build the source model
      under ``strategy.scope()`` so its weights are mirrored.

  Calling the attack returns adversarial images as float32 pixels in
  [0, 255]. See :meth:`__call__`. The built parts are attributes:
  ``objective``, ``input_transform``, ``gradient_transform``, ``update``;
  ``network`` is the source model as they see it.
  """

  def __init__(self, source, config=None, layer_name=None, strategy=None):
    if not isinstance(source, source_lib.SourceModel):
      raise ValueError('source must be a fia_tf.SourceModel, got '
                       f'{type(source).__name__}')
    self.source = source
    self.strategy = strategy
    self.config = config = config or config_lib.AttackConfig()
    parts = config.parts
    self.jit_compile = (default_jit_compile() if config.jit_compile is None
                        else config.jit_compile)
    self.memory_budget = (config.memory_budget or
                          distribute.default_memory_budget())
    self.network = network = network_lib.Network(
        source, layer_name, unroll=self.jit_compile,
        mask_batch=config.mask_batch, memory_budget=self.memory_budget)
    self.image_shape = network.image_shape
    self.num_classes = network.num_classes
    # The iterate lives in pixels (scale 1) or, like the original, in the
    # model-input domain with eps and alpha rescaled.
    if config.domain == 'model':
      if source.inverse is None or source.scale is None:
        raise ValueError(f"domain='model' needs a source with inverse and "
                         f'scale, got inverse={source.inverse!r}, '
                         f'scale={source.scale!r}')
      self.scale = float(source.scale)
      self.to_domain, self.from_domain = source.preprocess, source.inverse
    else:
      self.scale = 1.0
      self.to_domain = self.from_domain = lambda x: x
    context = parts_lib.Context(config=config, network=network,
                                scale=self.scale)
    # The input transform first: objectives may send copies through it.
    self.input_transform = context.input_transform = (
        parts_lib.INPUT_TRANSFORMS.build(parts.input_transform, context))
    self.objective = parts_lib.OBJECTIVES.build(parts.objective, context)
    if self.objective.output not in ('logits', 'features'):
      raise ValueError(f'objective {parts.objective!r} has output '
                       f'{self.objective.output!r}; must be logits or '
                       'features')
    on_features = self.objective.output == 'features'
    if on_features:
      # Now, not inside the first trace: an unknown layer is an error here.
      network.use_features()
    self.gradient_transform = parts_lib.GRADIENT_TRANSFORMS.build(
        parts.gradient_transform, context)
    self.update = parts_lib.UPDATE_RULES.build(parts.update, context)
    self.feature_model = network.feature_model
    self.features_and_logits = network.features_and_logits
    if on_features:
      self.layer_name = network.layer_name
    self.net = network.features if on_features else network.logits
    if self.jit_compile:
      # XLA's CPU backend runs while-loop bodies far slower than the same ops
      # unrolled (measured: 10 MIM steps of resnet_v1_50, 11.3 s as a loop,
      # 4.4 s unrolled, 5.3 s without XLA). So under XLA every loop is
      # unrolled, which needs static shapes: one trace per batch size (XLA
      # compiles per shape anyway; a fixed micro_batch means one).
      self._compiled = tf.function(self._run, jit_compile=True,
                                   reduce_retracing=False)
    else:
      signature = [
          tf.TensorSpec([None, *self.image_shape], tf.float32, name='images'),
          tf.TensorSpec([None], tf.int32, name='labels'),
          tf.TensorSpec([None], tf.int64, name='ids'),
      ]
      self._compiled = tf.function(self._run, input_signature=signature)

  @property
  def mask_batch(self):
    """Copies per pass of the objective's copy aggregation (``None`` when
    it aggregates none)."""
    if not self.objective.copies_per_image():
      return None
    return self.network.mask_batch

  # -- public API ------------------------------------------------------------

  def __call__(self, images, labels=None, ids=None):
    """Attacks a batch.

    Args:
      images: ``[B, H, W, C]`` pixels in [0, 255], float or uint8.
      labels: ``[B]`` int class indices in the model's label space. Needed by
        FIA and by cross-entropy with ``ce_labels='true'``; ignored otherwise.
      ids: ``[B]`` int64 per-image ids keying all randomness (for example the
        index of the image in its dataset). By default they are derived from
        the pixel content, so results never depend on batching or order.

    Returns:
      float32 ``[B, H, W, C]`` adversarial pixels in [0, 255].
    """
    return self.run(images, labels, ids)[0]

  def run(self, images, labels=None, ids=None):
    """Like :meth:`__call__`, also returning the objective per iteration.

    Returns:
      ``(adversarial images, values)``, ``values`` float32 ``[num_iter, B]``:
      the objective of each image at the start of each iteration.
    """
    images, labels, ids = self._check_inputs(images, labels, ids)
    micro = self.config.micro_batch
    batch = images.shape[0]
    if batch == 0:
      # Nothing to attack; the graph would fail on empty copy lists.
      return images, tf.zeros([self.config.num_iter, 0], tf.float32)
    if not tf.executing_eagerly() or micro is None:
      # One step: inside a caller's graph (tf.data, Keras) or without a
      # micro_batch.
      adversarial, values = self._step(images, labels, ids)
      return adversarial, tf.transpose(values)
    replicas = (self.strategy.num_replicas_in_sync
                if self.strategy is not None else 1)
    step = micro * replicas
    outputs = []
    for start in range(0, batch, step):
      count = min(step, batch - start)
      # Pad a short last step with copies of its last image, so every
      # replica always runs ``micro`` images (results dropped).
      index = tf.minimum(tf.range(start, start + step), start + count - 1)
      result = self._step(*(tf.gather(t, index) for t in (images, labels, ids)))
      outputs.append([r[:count] for r in result])
    adversarial, values = (tf.concat(parts, 0) for parts in zip(*outputs))
    return adversarial, tf.transpose(values)

  def _step(self, images, labels, ids):
    """The compiled attack on one step, sharded when there is a strategy."""
    if self.strategy is not None and tf.executing_eagerly():
      return distribute.run_sharded(self.strategy, self._compiled, images,
                                    labels, ids)
    return self._compiled(images, labels, ids)

  def logits(self, images):
    """Source-model logits of pixel images (inside or outside the attack)."""
    return self.network.logits(self.network.preprocess(images))

  def pass_layout(self, batch):
    """How the objective's ``batch * copies`` copies are split into passes.

    Returns:
      ``(images_per_pass, copies_per_pass, image_blocks, copy_passes)``:
      each forward/backward pass holds ``images_per_pass * copies_per_pass``
      copies (at most :attr:`mask_batch` unless one image alone exceeds
      it), and there are ``image_blocks * copy_passes`` passes.

    Raises:
      ValueError: when the objective aggregates no copies.
    """
    copies = self.objective.copies_per_image()
    if not copies:
      raise ValueError(f'{self.config.parts.objective} aggregates no copies '
                       f'(ens={self.config.ens})')
    return self.network.pass_layout(batch, copies)

  # -- internals -------------------------------------------------------------

  def _model_input(self, x):
    """Model input for an iterate in the working domain."""
    return x if self.config.domain == 'model' else self.source.preprocess(x)

  def _start(self, images, labels, ids):
    """Everything the iterations need, computed once from the clean images.

    Returns:
      ``(x, state, clean_input, cached_clean, low, high)``: the start point in
      the working domain, the objective's state, the clean model input, the
      clean network output when it can be reused every iteration, and the
      per-pixel bounds of the iterate.
    """
    cfg = self.config
    state = self.objective.prepare(images, labels, ids)
    start = self.objective.start(images, ids)
    clean = self.to_domain(images)
    x = self.to_domain(start)
    eps = cfg.eps * self.scale
    low, high = clean - eps, clean + eps
    if cfg.clip == 'step':
      # Preprocessing is monotone per channel, so the pixel range maps to a
      # per-channel interval.
      bounds = tf.sort(tf.stack([self.to_domain(tf.zeros_like(images)),
                                 self.to_domain(tf.fill(tf.shape(images),
                                                        PIXEL_MAX))]), axis=0)
      low, high = tf.maximum(low, bounds[0]), tf.minimum(high, bounds[1])
    clean_input = self._model_input(clean)
    cached_clean = None
    if self.objective.needs_clean and cfg.parts.input_transform == 'none':
      cached_clean = self.net(clean_input)
    return x, state, clean_input, cached_clean, low, high

  def _gradient(self, x, t, ids, state, clean_input, cached_clean):
    """Objective values and their raw input gradient at iteration ``t``."""
    keys = rng.keys(self.config.seed, rng.DI, t, ids)
    clean_out = cached_clean
    if self.objective.needs_clean and cached_clean is None:
      # The clean features go through the same DI draw as the adversarial
      # image, as in the original, where both share one batch.
      clean_out = self.net(self.input_transform(clean_input, keys))
    with tf.GradientTape(watch_accessed_variables=False) as tape:
      tape.watch(x)
      out = self.net(self.input_transform(self._model_input(x), keys))
      values = self.objective(out, state, clean_out)
      total = tf.reduce_sum(values)
    return values, tape.gradient(total, x)

  def input_gradient(self, images, labels=None, ids=None):
    """The raw input gradient of the first iteration (a diagnostic).

    The gradient of the summed objective with respect to the iterate at its
    start point, in the working domain (pixels, or the model-input domain
    with ``domain='model'``), before the gradient transform (TI), the
    ``mean|g|`` normalisation and the momentum. It is what decides the
    first step, so comparing it with another implementation's checks the
    whole forward and backward path at once.

    Returns:
      float32 ``[B, H, W, C]``.
    """
    images, labels, ids = self._check_inputs(images, labels, ids)
    x, state, clean_input, cached_clean, _, _ = self._start(images, labels,
                                                             ids)
    state = self.objective.advance(state, self.from_domain(x), ids, 0)
    return self._gradient(x, 0, ids, state, clean_input, cached_clean)[1]

  def _run(self, images, labels, ids):
    cfg = self.config
    x, state, clean_input, cached_clean, low, high = self._start(
        images, labels, ids)
    acc = tf.zeros_like(x)
    amp = tf.zeros_like(x)
    trace = tf.TensorArray(tf.float32, size=cfg.num_iter)
    for t in (range if self.jit_compile else tf.range)(cfg.num_iter):
      state = self.objective.advance(state, self.from_domain(x), ids, t)
      values, grad = self._gradient(x, t, ids, state, clean_input,
                                    cached_clean)
      trace = trace.write(t, values)
      grad = self.gradient_transform(grad)
      x, acc, amp = self.update(x, grad, acc, amp)
      x = tf.clip_by_value(x, low, high)
    adversarial = tf.clip_by_value(self.from_domain(x), 0.0, PIXEL_MAX)
    # Image-major, so that results of several replicas concatenate.
    return adversarial, tf.transpose(trace.stack())

  def _check_inputs(self, images, labels, ids):
    """Converts and validates; ValueError names the argument and value."""
    images = tf.convert_to_tensor(images)
    if not (images.dtype.is_floating or images.dtype == tf.uint8):
      raise ValueError(
          f'images must be float or uint8 pixels, got dtype {images.dtype.name}')
    if images.shape.rank != 4:
      raise ValueError('images must have rank 4 [B, H, W, C], got shape '
                       f'{images.shape}')
    expected = self.image_shape
    for got, want, what in zip(images.shape[1:], expected,
                               ('height', 'width', 'channels')):
      if got is not None and want is not None and got != want:
        raise ValueError(f'images {what} must be {want} for {self.source.name}'
                         f', got shape {images.shape}')
    images = tf.cast(images, tf.float32)
    batch = images.shape[0]

    if labels is None:
      if self.objective.needs_labels:
        raise ValueError(f'{self.config.parts.name} needs labels, got None')
      labels = tf.zeros(tf.shape(images)[:1], tf.int32)
    else:
      labels = tf.convert_to_tensor(labels)
      if not labels.dtype.is_integer:
        raise ValueError(f'labels must be integers, got dtype '
                         f'{labels.dtype.name}')
      if labels.shape.rank != 1 or (batch is not None and
                                    labels.shape[0] not in (None, batch)):
        raise ValueError(f'labels must have shape [{batch}], got '
                         f'{labels.shape}')

    if ids is None:
      ids = rng.content_ids(images)
    else:
      ids = tf.convert_to_tensor(ids)
      if not ids.dtype.is_integer:
        raise ValueError(f'ids must be integers, got dtype {ids.dtype.name}')
      if ids.shape.rank != 1 or (batch is not None and
                                 ids.shape[0] not in (None, batch)):
        raise ValueError(f'ids must have shape [{batch}], got {ids.shape}')

    if tf.executing_eagerly():
      pixels = images.numpy()
      if not np.all(np.isfinite(pixels)):
        bad = pixels[~np.isfinite(pixels)].flat[0]
        raise ValueError(f'images must be finite, got a pixel value {bad}')
      if pixels.size and (pixels.min() < 0 or pixels.max() > PIXEL_MAX):
        raise ValueError('images must be pixels in [0, 255], got values in '
                         f'[{pixels.min()}, {pixels.max()}]')
      # On the caller's dtype: a cast first would wrap 2**32 + 7 to 7.
      values = labels.numpy()
      if values.size and (values.min() < 0 or
                          values.max() >= self.num_classes):
        wrong = values[(values < 0) | (values >= self.num_classes)][0]
        raise ValueError(f'labels must be in [0, {self.num_classes}), got '
                         f'{wrong}')
      values = ids.numpy()
      if values.size and values.dtype == np.uint64 and (
          values.max() > np.iinfo(np.int64).max):
        raise ValueError('ids must fit in int64, got '
                         f'{values[values > np.iinfo(np.int64).max][0]}')
    else:
      # Inside a graph (tf.data, Keras fit) the values are unknown here; the
      # checks run with the graph and fail with the same messages.
      checks = [
          tf.debugging.assert_equal(
              tf.shape(labels)[0], tf.shape(images)[0],
              message='labels must have one entry per image (shape [B])'),
          tf.debugging.assert_equal(
              tf.shape(ids)[0], tf.shape(images)[0],
              message='ids must have one entry per image (shape [B])'),
          tf.debugging.assert_all_finite(images, 'images must be finite'),
          tf.debugging.assert_greater_equal(
              images, 0.0, message='images must be pixels in [0, 255]'),
          tf.debugging.assert_less_equal(
              images, PIXEL_MAX, message='images must be pixels in [0, 255]'),
          tf.debugging.assert_greater_equal(
              labels, tf.constant(0, labels.dtype),
              message=f'labels must be in [0, {self.num_classes})'),
      ]
      if labels.dtype.max >= self.num_classes:
        # (a narrower dtype cannot hold an out-of-range class at all)
        checks.append(tf.debugging.assert_less(
            labels, tf.constant(self.num_classes, labels.dtype),
            message=f'labels must be in [0, {self.num_classes})'))
      if ids.dtype == tf.uint64:
        checks.append(tf.debugging.assert_less_equal(
            ids, tf.constant(np.iinfo(np.int64).max, tf.uint64),
            message='ids must fit in int64'))
      with tf.control_dependencies(checks):
        images = tf.identity(images)
    return images, tf.cast(labels, tf.int32), tf.cast(ids, tf.int64)
