"""Running attacks and evaluations on several devices or hosts.

A :class:`tf.distribute.Strategy` decides where the work runs:

* ``'default'``: the one default device (no distribution);
* ``'mirrored'``: every GPU of this host (or, for tests, every logical CPU:
  :func:`split_cpu`), one replica each;
* ``'multi_worker'``: every device of every host listed in ``TF_CONFIG``.

:func:`run_sharded` cuts a batch into one contiguous shard per replica, runs
a per-image function on every replica at once and puts the results back in
order. Every random draw of the attacks is keyed by the image's id, never by
its position, batch or device (:mod:`fia_tf.attacks.rng`), and objectives
that aggregate copies (FIA) add each image's gradients in a fixed order
(:meth:`fia_tf.attacks.network.Network.aggregate`), so a sharded run gives
the same bytes as a one-device run.

The functions here never read flags; the binaries in ``experiments/`` map
their ``--strategy`` flag to :func:`make_strategy`.
"""

import json
import os

import tensorflow as tf

STRATEGIES = ('default', 'mirrored', 'multi_worker')

_CPU_BUDGET_CAP = 4 * 2**30   # bigger passes do not run faster on a CPU
_MIN_BUDGET = 64 * 2**20


def split_cpu(count):
  """Splits the host CPU into ``count`` logical devices (tests, CPU sharding).

  Must run before TensorFlow initialises its devices (before any op).

  Raises:
    ValueError: for ``count < 1`` or when the devices are already in use.
  """
  if isinstance(count, bool) or not isinstance(count, int) or count < 1:
    raise ValueError(f'the CPU device count must be an integer >= 1, got '
                     f'{count!r}')
  cpus = tf.config.list_physical_devices('CPU')
  try:
    tf.config.set_logical_device_configuration(
        cpus[0], [tf.config.LogicalDeviceConfiguration()] * count)
  except RuntimeError as e:
    have = len(tf.config.list_logical_devices('CPU'))
    if have == count:
      return
    raise ValueError(f'cannot split the CPU into {count} devices: TensorFlow '
                     f'already runs with {have} ({e})') from None


def make_strategy(kind='default', devices=None):
  """The :class:`tf.distribute.Strategy` named ``kind``.

  Args:
    kind: one of :data:`STRATEGIES`.
    devices: for ``'mirrored'``: device names (default: all GPUs, else all
      logical CPUs).

  Raises:
    ValueError: for an unknown kind, or ``'multi_worker'`` without a
      ``TF_CONFIG`` cluster.
  """
  if kind == 'default':
    return tf.distribute.get_strategy()
  if kind == 'mirrored':
    if devices is None:
      gpus = tf.config.list_logical_devices('GPU')
      devices = [d.name for d in (gpus or tf.config.list_logical_devices(
          'CPU'))]
    # Only gathers cross devices (no all-reduce), which this handles on any
    # device type; the default NCCL choice would refuse CPUs.
    return tf.distribute.MirroredStrategy(
        devices=list(devices),
        cross_device_ops=tf.distribute.ReductionToOneDevice())
  if kind == 'multi_worker':
    cluster = json.loads(os.environ.get('TF_CONFIG') or '{}').get('cluster')
    if not cluster:
      raise ValueError("strategy 'multi_worker' needs the TF_CONFIG "
                       'environment variable describing the cluster (see '
                       'the README, "Several GPUs or hosts")')
    return tf.distribute.MultiWorkerMirroredStrategy()
  raise ValueError(f'strategy must be one of {STRATEGIES}, got {kind!r}')


def is_chief(strategy=None):
  """Whether this process writes shared outputs (task 0 of a multi-host run,
  else always)."""
  resolver = getattr(strategy, 'cluster_resolver', None)
  if resolver is None or not getattr(resolver, 'task_type', None):
    return True
  return (resolver.task_type == 'chief' or
          (resolver.task_type == 'worker' and resolver.task_id == 0 and
           'chief' not in resolver.cluster_spec().as_dict()))


def run_sharded(strategy, fn, *tensors):
  """Runs ``fn`` on one shard of ``tensors`` per replica; same result order.

  Args:
    strategy: a :class:`tf.distribute.Strategy` or ``None`` (no sharding).
    fn: a function of per-image tensors (leading axis = image) returning a
      tensor or a nest of tensors whose leading axis is the image, for
      example a compiled ``tf.function``.
    *tensors: the global batch, equal leading sizes. In a multi-host run
      every host passes the same global batch.

  Returns:
    ``fn``'s outputs for the whole batch, in input order. Shards are padded
    to equal size with copies of the last image (results dropped), so every
    replica runs the same shapes.
  """
  tensors = [tf.convert_to_tensor(t) for t in tensors]
  replicas = strategy.num_replicas_in_sync if strategy is not None else 1
  batch = int(tensors[0].shape[0])
  if replicas == 1 or batch == 0:
    return fn(*tensors)
  per = -(-batch // replicas)
  index = tf.minimum(tf.range(per * replicas), batch - 1)
  padded = [tf.gather(t, index) for t in tensors]

  def shard(context):
    start = context.replica_id_in_sync_group * per
    return tuple(t[start:start + per] for t in padded)

  inputs = strategy.experimental_distribute_values_from_function(shard)
  outputs = _replicated(strategy, fn)(*inputs)
  return tf.nest.map_structure(
      lambda v: strategy.gather(v, axis=0)[:batch], outputs)


_REPLICATED = {}


def _replicated(strategy, fn):
  """``strategy.run(fn)`` inside one graph, so replicas run concurrently
  without per-call Python threads; shapes generalise after one retrace."""
  key = (id(strategy), id(fn))
  if key not in _REPLICATED:
    # A plain Python callee: given a tf.function, strategy.run would re-wrap
    # it with its input signature, which per-replica values do not match.
    def per_replica(*args):
      return fn(*args)
    _REPLICATED[key] = (strategy, fn, tf.function(
        lambda *args: strategy.run(per_replica, args=args),
        reduce_retracing=True))
  return _REPLICATED[key][2]


def device_memory_bytes():
  """Memory of one accelerator (GPU allocator limit) or of the host, bytes.

  Returns ``None`` when it cannot be read.
  """
  if tf.config.list_physical_devices('GPU'):
    # No public API reports a GPU's size; the device list carries the
    # allocator's limit.
    from tensorflow.python.client import device_lib  # pylint: disable=g-import-not-at-top,import-outside-toplevel
    limits = [d.memory_limit for d in device_lib.list_local_devices()
              if d.device_type == 'GPU' and d.memory_limit]
    if limits:
      return int(min(limits))
  try:
    return os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES')
  except (ValueError, OSError):
    return None


def default_memory_budget():
  """Bytes of activations FIA's importance passes may hold per replica.

  A quarter of a GPU's memory; on a CPU an eighth of the host's RAM, at most
  4 GiB (larger passes run no faster there); 2 GiB when the memory cannot
  be read. It does not depend on the number of replicas, so the pass size,
  and with it every float, is the same on one device and on several.
  """
  memory = device_memory_bytes()
  if memory is None:
    return 2 * 2**30
  if tf.config.list_physical_devices('GPU'):
    return max(memory // 4, _MIN_BUDGET)
  return int(max(min(memory // 8, _CPU_BUDGET_CAP), _MIN_BUDGET))
