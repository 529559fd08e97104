"""Speed and memory of the attack engine against its roofline.

FIA's work is ``B * N`` forward passes through the whole network with a
backward pass to the feature layer (the importance weights), then ``T``
forward passes to the feature layer with a backward pass to the input (the
iterations). Its *roofline* is the time of exactly that work, each piece
timed alone as one compiled function at the sizes the attack uses::

  roofline = B*N * t_full(P) / P + T * t_prefix(B)

where ``P`` is the number of copies in one of the attack's passes
(:meth:`fia_tf.Attack.pass_layout`). Every real copy is charged the per-copy
cost of a pass of that size, so the padding copies of the last pass count
against the attack, not the roofline. ``attack / roofline`` near 1 means the
engine adds little around the network.

The attacks of the FIA family that do other work have their own rooflines
(:func:`roofline` picks by objective, for the plain method without DI, TI
or PI):

* DANAA walks its ``N``-point path one pass of the batch at a time, each a
  forward pass with a backward pass to the input (both gradients come from
  it), then one forward pass of the path's end to the layer::

    roofline = N * t_input(B) + t_forward_prefix(B) + T * t_prefix(B)

* ILPD runs, every iteration, the noised clean images to the layer (no
  gradient) and the whole network with a backward pass to the input::

    roofline = T * (t_forward_prefix(B) + t_input(B))

* BFA and P2FA build their copies as a chain (each from the one before),
  so each of the chain's passes holds the whole batch; their roofline is
  :func:`chain_roofline`.

:func:`measure` times FIA (the default, memory-budgeted "vectorised" passes
and, for comparison, the per-mask loop: N passes of B images), MIM and
FIA+PIDIM on one batch and returns one record per measurement, with the
peak resident set size of each (:class:`PeakRss`). The records are plain
JSON-friendly dicts; ``experiments/speed.py`` runs them for the zoo
models, one process per (model, batch, XLA setting).
"""

import gc
import os
import resource
import threading
import time
from typing import Dict, Iterator, List, Optional, Sequence

import numpy as np
import tensorflow as tf

from fia_tf import records
from fia_tf.attacks import config as config_lib
from fia_tf.attacks import engine as attack_lib
from fia_tf.attacks import methods as methods_lib
from fia_tf.attacks.objectives import bfa as bfa_lib

METHODS = ('FIA', 'MIM', 'FIA+PIDIM', 'DANAA', 'ILPD')
#: Attacks whose roofline is :func:`chain_roofline` (``make bench`` adds them).
CHAIN_METHODS = ('BFA', 'P2FA')
CHAIN = 'chain'
ZOO_MODELS = ('vgg_16', 'inception_v3', 'resnet_v1_50')
VECTORISED = 'vectorised'
PER_MASK = 'per_mask'

_PLAIN_FIA = methods_lib.Parts(objective='fia')
_PLAIN_DANAA = methods_lib.Parts(objective='danaa')
_PLAIN_ILPD = methods_lib.Parts(objective='ilpd')
# NAA's and RPA's copies take FIA's passes (N full passes of the copies, T
# prefix passes); NAA adds one forward pass of the black image, negligible.
_FIA_LIKE = (_PLAIN_FIA, methods_lib.Parts(objective='naa'),
             methods_lib.Parts(objective='rpa'))
_PLAIN_CHAIN = (methods_lib.Parts(objective='bfa'),
                methods_lib.Parts(objective='p2fa'))
_PAGE_BYTES = os.sysconf('SC_PAGE_SIZE')


# -- memory -------------------------------------------------------------------


def current_rss():
  """This process's resident set size in bytes (Linux ``/proc``)."""
  with open('/proc/self/statm', encoding='ascii') as f:
    return int(f.read().split()[1]) * _PAGE_BYTES


def max_rss():
  """Peak RSS of this process's whole life so far, in bytes (getrusage)."""
  # Linux reports ru_maxrss in kilobytes.
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class PeakRss:
  """Samples this process's RSS in a background thread during a block.

  TF kernels release the GIL, so the sampler keeps running while the
  attack computes. A short peak between two samples can be missed; the
  lifetime ``ru_maxrss`` (read at exit) bounds it from above.

  Args:
    interval: seconds between samples.

  Attributes:
    start_bytes: RSS at entry (the others are set on exit).
    peak_bytes: largest RSS sampled during the block (entry and exit
      included).
    end_bytes: RSS at exit.
    ru_maxrss_bytes: ``getrusage(RUSAGE_SELF).ru_maxrss`` at exit, in
      bytes: the peak over the process's life, not just this block.
    samples: number of samples taken.
  """

  def __init__(self, interval=0.01):
    self.interval = interval
    self.start_bytes = self.peak_bytes = self.end_bytes = None
    self.ru_maxrss_bytes = None
    self.samples = 0
    self._stop = None
    self._thread = None

  def _sample(self):
    rss = current_rss()
    self.samples += 1
    if rss > self.peak_bytes:
      self.peak_bytes = rss
    return rss

  def _loop(self):
    while not self._stop.wait(self.interval):
      self._sample()

  def __enter__(self):
    self.start_bytes = self.peak_bytes = current_rss()
    self.samples = 1
    self._stop = threading.Event()
    self._thread = threading.Thread(target=self._loop, name='PeakRss',
                                    daemon=True)
    self._thread.start()
    return self

  def __exit__(self, *exc_info):
    self._stop.set()
    self._thread.join()
    # After the join only this thread touches the counters.
    self.end_bytes = self._sample()
    self.ru_maxrss_bytes = max_rss()
    return False


# -- time ---------------------------------------------------------------------


def _force(outputs):
  """Waits for ``outputs`` by copying every tensor to NumPy."""
  return tf.nest.map_structure(
      lambda t: t.numpy() if hasattr(t, 'numpy') else t, outputs)


def best_time(fn, repeats):
  """Times ``fn()`` after one untimed warm-up call (trace, compile).

  Args:
    fn: a callable returning tensors (or a nest of them); they are copied to
      NumPy inside the timed region, so asynchronous work is counted.
    repeats: timed calls, at least 1.

  Returns:
    ``(best seconds, [seconds of every timed call])``.
  """
  if repeats < 1:
    raise ValueError(f'repeats must be >= 1, got {repeats!r}')
  _force(fn())
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    _force(fn())
    times.append(time.perf_counter() - start)
  return min(times), times


# -- machine and inputs -------------------------------------------------------


def machine_info():
  """TF version, CPU model and the cores this process may run on."""
  try:
    cores = len(os.sched_getaffinity(0))
  except AttributeError:
    cores = os.cpu_count()
  return {'tf': tf.__version__, 'cpu': records.cpu_model(), 'cores': cores}


def random_batch(source, batch, seed=0):
  """``batch`` uniform random pixel images and labels for ``source``.

  Returns:
    ``(images, labels)``: float32 ``[batch, H, W, C]`` whole pixel values in
    [0, 255] and int32 ``[batch]`` classes in ``range(source.num_classes)``.
  """
  rs = np.random.RandomState(seed)
  height, width = source.input_size
  channels = int(source.model.inputs[0].shape[-1])
  images = rs.randint(0, 256, (batch, height, width, channels))
  labels = rs.randint(0, source.num_classes, batch)
  return images.astype(np.float32), labels.astype(np.int32)


def zoo_source(name):
  """The slim-zoo net ``name`` with random weights and its paper FIA layer.

  Returns:
    ``(source, spec)``: a :class:`fia_tf.SourceModel` and its
    :class:`fia_tf.zoo.registry.ModelSpec`.
  """
  from fia_tf.zoo import registry  # pylint: disable=import-outside-toplevel
  spec = registry.get_spec(name)
  return spec.source_model(load_weights=False), spec


# -- the roofline -------------------------------------------------------------


def layout_record(attack, batch):
  """The copy passes' layout for ``batch`` images as a JSON-friendly dict.

  FIA-like objectives use :meth:`fia_tf.Attack.pass_layout`; an objective
  whose copies run in passes of its own (DANAA's path) says how with a
  ``pass_layout(batch)`` method of the same form.
  """
  own = getattr(attack.objective, 'pass_layout', None)
  layout = own(batch) if own is not None else attack.pass_layout(batch)
  images_per_pass, masks_per_pass, blocks, mask_passes = layout
  return {
      'images_per_pass': images_per_pass,
      'masks_per_pass': masks_per_pass,
      'image_blocks': blocks,
      'mask_passes': mask_passes,
      'passes': blocks * mask_passes,
      'copies_per_pass': images_per_pass * masks_per_pass,
      'copies': batch * attack.config.ens,
  }


def _prefix_passes(attack, batch):
  """FIA's iteration pieces for ``batch`` images, compiled as the attack is.

  Returns:
    ``(forward, backward)``: forward to the feature layer; forward to the
    layer and backward to the input of a fixed random weighting of the
    feature map (the gradient of FIA's loss, whatever the weights).
  """
  prefix = attack.feature_model
  feature_shape = (batch,) + tuple(prefix.outputs[0].shape[1:])
  weights = tf.constant(
      np.random.RandomState(0).standard_normal(feature_shape), tf.float32)

  @tf.function(jit_compile=attack.jit_compile)
  def forward(x):
    return prefix(x, training=False)

  # Same tape settings as the attack's own gradient code.
  @tf.function(jit_compile=attack.jit_compile)
  def backward(x):
    with tf.GradientTape(watch_accessed_variables=False) as tape:
      tape.watch(x)
      target = tf.reduce_sum(prefix(x, training=False) * weights)
    return tape.gradient(target, x)

  return forward, backward


def _feature_pass(attack, selector):
  """FIA's full pass, compiled as the attack is: forward through the whole
  net, backward from the selected logits to the feature map."""
  both = attack.features_and_logits

  @tf.function(jit_compile=attack.jit_compile)
  def feature_pass(x):
    with tf.GradientTape(watch_accessed_variables=False) as tape:
      tape.watch(x)
      features, logits = both(x, training=False)
      target = tf.reduce_sum(logits * selector)
    return tape.gradient(target, features)

  return feature_pass


def roofline(attack, images, labels, repeats):
  """Times the two pieces of plain FIA's roofline (see the module doc).

  Both pieces are compiled with the attack's ``jit_compile`` setting and use
  the attack's own sub-models, so they run the same network code.

  Args:
    attack: a :class:`fia_tf.Attack` of method ``'FIA'`` with ``ens >= 1``.
    images: ``[B, H, W, C]`` pixels, the batch the attack was timed on.
    labels: ``[B]`` classes.
    repeats: timed calls per piece (the best is kept).

  Returns:
    A dict: ``roofline_s`` (seconds for the batch), ``full_pass_s`` (one
    forward + backward-to-the-layer pass of ``copies_per_pass`` copies),
    ``prefix_pass_s`` (one forward-to-the-layer + backward-to-the-input pass
    of the batch) and ``pass_copies``.
  """
  cfg = attack.config
  if cfg.parts == _PLAIN_DANAA and cfg.ens >= 1:
    return _family_roofline(attack, images, labels, repeats,
                            path_passes=cfg.ens, baseline_passes=1,
                            iteration_prefix=True, iteration_clean=False)
  if cfg.parts == _PLAIN_ILPD:
    return _family_roofline(attack, images, labels, repeats, path_passes=0,
                            baseline_passes=0, iteration_prefix=False,
                            iteration_clean=True)
  if cfg.parts not in _FIA_LIKE or cfg.ens < 1:
    raise ValueError('the roofline is defined for plain FIA, NAA, RPA and '
                     f'DANAA with ens >= 1 and plain ILPD, got '
                     f'{cfg.parts.name} with ens={cfg.ens}')
  images = np.asarray(images, np.float32)
  labels = np.asarray(labels)
  batch = len(images)
  layout = layout_record(attack, batch)
  pass_copies = layout['copies_per_pass']
  preprocess = attack.source.preprocess

  # A pass of the attack's size, made of copies of the batch's images.
  pass_input = tf.constant(preprocess(
      np.resize(images, (pass_copies,) + images.shape[1:])))
  selector = tf.one_hot(np.resize(labels, pass_copies), attack.num_classes)
  batch_input = tf.constant(preprocess(images))
  _, prefix_pass = _prefix_passes(attack, batch)
  full_pass = _feature_pass(attack, selector)

  t_full, _ = best_time(lambda: full_pass(pass_input), repeats)
  t_prefix, _ = best_time(lambda: prefix_pass(batch_input), repeats)
  seconds = (layout['copies'] * t_full / pass_copies +
             cfg.num_iter * t_prefix)
  return {'roofline_s': seconds, 'full_pass_s': t_full,
          'prefix_pass_s': t_prefix, 'pass_copies': pass_copies}


def _family_roofline(attack, images, labels, repeats, *, path_passes,
                     baseline_passes, iteration_prefix, iteration_clean):
  """DANAA's and ILPD's rooflines (module doc), from three timed pieces.

  ``t_input(B)``: the whole network forward and backward to the input,
  with the feature map's gradient taken on the way (the original model's
  layers, not the attack's split); ``t_forward_prefix(B)``: forward to the
  layer, no gradient; ``t_prefix(B)``: forward to the layer, backward to
  the input (FIA's iteration).

  Returns:
    The dict of :func:`roofline`; ``full_pass_s`` is ``t_input(B)``,
    ``prefix_pass_s`` is ``t_prefix(B)`` and ``forward_prefix_s``
    ``t_forward_prefix(B)``.
  """
  cfg = attack.config
  images = np.asarray(images, np.float32)
  labels = np.asarray(labels)
  batch = len(images)
  both = attack.features_and_logits
  jit = attack.jit_compile
  batch_input = tf.constant(attack.source.preprocess(images))
  selector = tf.one_hot(labels, attack.num_classes)
  forward_prefix, prefix_pass = _prefix_passes(attack, batch)

  @tf.function(jit_compile=jit)
  def input_pass(x):
    with tf.GradientTape(watch_accessed_variables=False) as tape:
      tape.watch(x)
      features, logits = both(x, training=False)
      target = tf.reduce_sum(tf.nn.softmax(logits) * selector)
    return tape.gradient(target, [features, x])

  t_input, _ = best_time(lambda: input_pass(batch_input), repeats)
  t_forward, _ = best_time(lambda: forward_prefix(batch_input), repeats)
  t_prefix, _ = best_time(lambda: prefix_pass(batch_input), repeats)
  per_iteration = ((t_prefix if iteration_prefix else 0.0) +
                   (t_forward + t_input if iteration_clean else 0.0))
  seconds = (path_passes * t_input + baseline_passes * t_forward +
             cfg.num_iter * per_iteration)
  return {'roofline_s': seconds, 'full_pass_s': t_input,
          'prefix_pass_s': t_prefix, 'forward_prefix_s': t_forward,
          'pass_copies': batch}


def _is_chain(attack):
  """Whether the attack's objective aggregates along BFA's copy chain."""
  return isinstance(attack.objective, bfa_lib.BlackBoxFeature)


def chain_layout_record(attack, batch):
  """BFA's / P2FA's passes for ``batch`` images (a JSON-friendly dict).

  The chain cannot be split over copies, so each of its ``N + 1`` passes
  holds the whole batch (``masks_per_pass`` 1).
  """
  copies = attack.objective.copies_per_image()
  return {
      'images_per_pass': batch, 'masks_per_pass': 1, 'image_blocks': 1,
      'mask_passes': copies + 1, 'passes': copies + 1,
      'copies_per_pass': batch, 'copies': batch * copies,
  }


def chain_roofline(attack, images, labels, repeats):
  """The roofline of BFA and P2FA (plain, ``ens >= 1``).

  BFA's preparation must run, at batch ``B``, ``N + 1`` forward passes
  (the clean image and the copies ``x_1 .. x_N``), ``N`` backward passes to
  the input (the cross-entropy gradients at ``x_0 .. x_{N-1}``) and ``N``
  backward passes to the feature layer (the logit gradients at
  ``x_1 .. x_N``); sharing one forward pass between the two backward
  passes of a copy, that is::

    N * t_input(B) + N * t_feature(B) - (N - 1) * t_forward(B)

  with ``t_input`` a forward pass with a backward pass to the input,
  ``t_feature`` one with a backward pass to the feature layer (FIA's full
  pass) and ``t_forward`` the forward pass alone, each timed as one
  compiled function. Then ``T * t_prefix(B)`` for the iterations, as FIA.
  P2FA runs that chain once per outer iteration (``ceil(T / K)`` times,
  ``K = p2fa_inner``), each with one forward pass to the feature layer
  (its anchor).

  Returns:
    A dict like :func:`roofline`'s, plus ``input_pass_s`` and
    ``forward_pass_s``.
  """
  cfg = attack.config
  copies = attack.objective.copies_per_image()
  if not _is_chain(attack) or cfg.parts.objective not in ('bfa', 'p2fa') or (
      cfg.parts != methods_lib.Parts(objective=cfg.parts.objective)) or (
          copies < 1):
    raise ValueError('the chain roofline is defined for plain BFA or P2FA '
                     f'with ens >= 1, got {cfg.parts.name} with ens={cfg.ens}')
  images = np.asarray(images, np.float32)
  labels = np.asarray(labels, np.int32)
  batch = len(images)
  model = attack.source.model
  jit = attack.jit_compile
  batch_input = tf.constant(attack.source.preprocess(images))
  selector = tf.one_hot(labels, attack.num_classes)
  prefix_forward, prefix_pass = _prefix_passes(attack, batch)

  @tf.function(jit_compile=jit)
  def forward_pass(x):
    return model(x, training=False)

  @tf.function(jit_compile=jit)
  def input_pass(x):
    with tf.GradientTape(watch_accessed_variables=False) as tape:
      tape.watch(x)
      loss = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(
          labels, model(x, training=False)))
    return tape.gradient(loss, x)

  feature_pass = _feature_pass(attack, selector)

  t_forward, _ = best_time(lambda: forward_pass(batch_input), repeats)
  t_input, _ = best_time(lambda: input_pass(batch_input), repeats)
  t_feature, _ = best_time(lambda: feature_pass(batch_input), repeats)
  t_prefix, _ = best_time(lambda: prefix_pass(batch_input), repeats)
  chain = copies * (t_input + t_feature) - (copies - 1) * t_forward
  if cfg.parts.objective == 'p2fa':
    outer = -(-cfg.num_iter // int(cfg.option('p2fa_inner')))
    chain = outer * (chain + best_time(lambda: prefix_forward(batch_input),
                                       repeats)[0])
  seconds = chain + cfg.num_iter * t_prefix
  return {'roofline_s': seconds, 'full_pass_s': t_feature,
          'prefix_pass_s': t_prefix, 'input_pass_s': t_input,
          'forward_pass_s': t_forward, 'pass_copies': batch}


# -- measurements -------------------------------------------------------------


def measure_attack(source, images, labels, method, *, ens=30, num_iter=10,
                   jit_compile=False, mask_batch=None, memory_budget=None,
                   repeats=2, variant=VECTORISED, with_roofline=None):
  """Times one attack on one batch, with its peak RSS.

  Args:
    source: a :class:`fia_tf.SourceModel`.
    images: ``[B, H, W, C]`` pixels in [0, 255].
    labels: ``[B]`` classes of ``source``.
    method: an :class:`fia_tf.AttackConfig` method string.
    ens: FIA's N.
    num_iter: T.
    jit_compile: XLA on/off, for the attack and its roofline.
    mask_batch: FIA's copies per pass; ``None`` derives it from the budget.
    memory_budget: FIA's activation budget in bytes; ``None`` keeps the
      engine's default.
    repeats: timed calls (after one warm-up call); the best is kept.
    variant: label of the record's pass layout (``'vectorised'``,
      ``'per_mask'``); ``None`` for methods without masked copies.
    with_roofline: also time the roofline (default: for plain FIA).

  Returns:
    A record dict (see :func:`measure`).
  """
  images = np.asarray(images, np.float32)
  labels = np.asarray(labels, np.int32)
  batch = len(images)
  settings = dict(method=method, ens=ens, num_iter=num_iter,
                  jit_compile=bool(jit_compile), mask_batch=mask_batch)
  if memory_budget is not None:
    settings['memory_budget'] = int(memory_budget)
  attack = attack_lib.Attack(source, config_lib.AttackConfig(**settings))
  cfg = attack.config
  uses_masks = attack.mask_batch is not None
  ids = np.arange(batch, dtype=np.int64)

  # Only the attack itself (its trace, compile and timed runs) is sampled.
  with PeakRss() as rss:
    best, times = best_time(lambda: attack(images, labels, ids), repeats)

  record = {
      'model': source.name, 'layer': source.feature_layer, 'batch': batch,
      'method': method, 'xla': bool(attack.jit_compile),
      'variant': ((CHAIN if _is_chain(attack) else variant) if uses_masks
                  else None),
      'ens': cfg.ens, 'num_iter': cfg.num_iter, 'repeats': repeats,
      's_per_image': best / batch, 'times_s': times,
      'roofline_s_per_image': None, 'ratio': None,
      'full_pass_s': None, 'prefix_pass_s': None,
      'rss_start_bytes': rss.start_bytes, 'rss_peak_bytes': rss.peak_bytes,
      'ru_maxrss_bytes': rss.ru_maxrss_bytes,
      'mask_batch': attack.mask_batch if uses_masks else None,
      'layout': ((chain_layout_record if _is_chain(attack) else
                  layout_record)(attack, batch) if uses_masks else None),
      # The budget the engine resolved (its default depends on the host).
      'memory_budget': getattr(attack, 'memory_budget', cfg.memory_budget),
  }
  chain = _is_chain(attack) and cfg.parts in _PLAIN_CHAIN
  if with_roofline is None:
    with_roofline = ((cfg.parts in _FIA_LIKE + (_PLAIN_DANAA,) + _PLAIN_CHAIN
                      and cfg.ens >= 1) or cfg.parts == _PLAIN_ILPD)
  if with_roofline:
    line = (chain_roofline if chain else roofline)(attack, images, labels,
                                                   repeats)
    record.update(roofline_s_per_image=line['roofline_s'] / batch,
                  ratio=best / line['roofline_s'],
                  full_pass_s=line['full_pass_s'],
                  prefix_pass_s=line['prefix_pass_s'])
    for key in ('input_pass_s', 'forward_pass_s', 'forward_prefix_s'):
      if key in line:
        record[key] = line[key]
  record.update(machine_info())
  del attack
  # Drop the attack's graphs now, so the next measurement starts lower.
  gc.collect()
  return record


def iter_measure(source, images, labels, *, methods=METHODS, ens=30,
                 num_iter=10, jit_compile=False, memory_budget=None,
                 per_mask=True, repeats=2, log=None) -> Iterator[Dict]:
  """Yields the records of :func:`measure` one at a time, as they finish."""
  batch = len(images)
  common = dict(ens=ens, num_iter=num_iter, jit_compile=jit_compile,
                memory_budget=memory_budget, repeats=repeats)
  methods = list(methods)
  # Plain FIA with the default layout goes first, so that its peak RSS is
  # not raised by memory earlier measurements left allocated.
  jobs = []
  if 'FIA' in methods:
    jobs.append(('FIA', VECTORISED, None))
    if per_mask:
      # mask_batch = B puts one mask of every image in each pass.
      jobs.append(('FIA', PER_MASK, batch))
  jobs += [(m, VECTORISED, None) for m in methods if m != 'FIA']
  vectorised_layout = None
  for method, variant, mask_batch in jobs:
    if variant == PER_MASK and vectorised_layout is not None and (
        vectorised_layout['masks_per_pass'] == 1):
      # The default layout already is the per-mask loop; timing it again
      # would only repeat the same computation.
      if log:
        log(f'{source.name} batch {batch}: the default layout already has '
            'one mask per pass; per-mask loop not measured again')
      continue
    if log:
      what = f' ({variant})' if method == 'FIA' else ''
      log(f'{source.name} batch {batch} {method}{what}, '
          f'xla={"on" if jit_compile else "off"}...')
    record = measure_attack(source, images, labels, method,
                            mask_batch=mask_batch, variant=variant, **common)
    if method == 'FIA' and variant == VECTORISED:
      vectorised_layout = record['layout']
    if log:
      log(describe(record))
    yield record


def measure(source, images, labels, *, methods=METHODS, ens=30, num_iter=10,
            jit_compile=False, memory_budget=None, per_mask=True, repeats=2,
            log=None) -> List[Dict]:
  """Times FIA (vectorised and per-mask loop), MIM and FIA+PIDIM.

  Plain FIA is measured first with the engine's default layout (copies per
  pass from ``memory_budget``), then with ``mask_batch=B`` (the per-mask
  loop: N passes of the B images; skipped when the default layout already
  has one mask per pass), then the other methods. For plain FIA the
  roofline is timed in the same process, after the attack.

  Args:
    source: a :class:`fia_tf.SourceModel`.
    images: ``[B, H, W, C]`` pixels in [0, 255].
    labels: ``[B]`` classes of ``source``.
    methods: method strings; ``'FIA'`` gets the roofline and the per-mask
      comparison.
    ens: FIA's N.
    num_iter: T.
    jit_compile: XLA on/off.
    memory_budget: bytes (``None``: the engine's default).
    per_mask: also measure FIA's per-mask loop.
    repeats: timed calls per measurement after one warm-up call.
    log: optional ``callable(str)`` for progress lines.

  Returns:
    One dict per measurement with ``model``, ``layer`` (Keras layer name),
    ``batch``, ``method``, ``xla``, ``variant`` (``'vectorised'``,
    ``'per_mask'``, or ``None`` without masked copies), ``ens``,
    ``num_iter``, ``repeats``, ``s_per_image`` (best call / B),
    ``times_s``, ``roofline_s_per_image``, ``ratio`` (attack / roofline),
    ``full_pass_s``, ``prefix_pass_s`` (these four ``None`` except for plain
    FIA), ``rss_start_bytes``, ``rss_peak_bytes``, ``ru_maxrss_bytes``,
    ``mask_batch``, ``layout`` (:func:`layout_record`), ``memory_budget``,
    ``tf``, ``cpu``, ``cores``.
  """
  return list(iter_measure(
      source, images, labels, methods=methods, ens=ens, num_iter=num_iter,
      jit_compile=jit_compile, memory_budget=memory_budget,
      per_mask=per_mask, repeats=repeats, log=log))


# -- planning and reporting ---------------------------------------------------


def plan(models: Sequence[str], batches: Sequence[int],
         xla: Sequence[bool], xla_max_batch: Optional[int] = None,
         skip: Sequence[str] = ()):
  """The (model, batch, xla) cells of a benchmark, in run order.

  Args:
    models: model names.
    batches: batch sizes.
    xla: jit_compile settings.
    xla_max_batch: XLA-on cells only at batches up to this (``None``: all).
    skip: ``'model:batch'`` cells not to run (e.g. too large for memory).

  Returns:
    A list of ``(model, batch, jit_compile)``.
  """
  skipped = set()
  for item in skip:
    model, sep, batch = str(item).rpartition(':')
    if not sep or not batch.isdigit():
      raise ValueError(f'skip entries must be MODEL:BATCH, got {item!r}')
    skipped.add((model, int(batch)))
  cells = []
  for model in models:
    for batch in batches:
      if (model, batch) in skipped:
        continue
      for jit in xla:
        if jit and xla_max_batch is not None and batch > xla_max_batch:
          continue
        cells.append((model, int(batch), bool(jit)))
  return cells


def _gib(value):
  return '-' if value is None else f'{value / 2**30:.2f}'


def _num(value, fmt='.3f'):
  return '-' if value is None else format(value, fmt)


def _layout_text(layout):
  if not layout:
    return '-'
  return (f"{layout['passes']} x {layout['images_per_pass']}"
          f"x{layout['masks_per_pass']}")


def describe(record):
  """One human-readable line for a record."""
  text = (f"{record['model']} B={record['batch']} {record['method']}"
          f" xla={'on' if record['xla'] else 'off'}")
  if record['variant']:
    text += f" {record['variant']} ({_layout_text(record['layout'])})"
  text += f": {record['s_per_image']:.3f} s/image"
  if record['ratio'] is not None:
    text += (f", roofline {record['roofline_s_per_image']:.3f} s/image, "
             f"ratio {record['ratio']:.2f}")
  text += (f", peak RSS {_gib(record['rss_peak_bytes'])} GiB (start "
           f"{_gib(record['rss_start_bytes'])})")
  return text


def summary_markdown(records):
  """A Markdown table of records (one row each)."""
  lines = [
      '| model | B | XLA | method | variant | passes x images x masks | '
      's/image | roofline s/image | ratio | peak RSS GiB | start RSS GiB |',
      '|---|---|---|---|---|---|---|---|---|---|---|',
  ]
  for r in records:
    lines.append(
        f"| {r['model']} | {r['batch']} | {'on' if r['xla'] else 'off'} | "
        f"{r['method']} | {r['variant'] or '-'} | "
        f"{_layout_text(r['layout'])} | {_num(r['s_per_image'])} | "
        f"{_num(r['roofline_s_per_image'])} | {_num(r['ratio'], '.2f')} | "
        f"{_gib(r['rss_peak_bytes'])} | {_gib(r['rss_start_bytes'])} |")
  return '\n'.join(lines)
