"""Writes legacy-format ``.pth`` files with the standard pickle module.

The files follow ``torch.save(..., _use_new_zipfile_serialization=False)``
byte for byte in structure (magic number, protocol, system information,
object pickle with storage persistent ids, storage keys, raw storages), so
the reader can be tested without torch, and with hostile content that
torch would never write.
"""

import collections
import io
import pickle
import struct

import numpy as np

MAGIC_NUMBER = 0x1950a86a20f9469cfc6c
_DTYPES = {'FloatStorage': '<f4', 'LongStorage': '<i8'}


class Global:
  """Pickles as a bare reference ``module.name`` (GLOBAL opcode)."""

  def __init__(self, module, name):
    self.module = module
    self.name = name

  def __call__(self, *args):  # save_reduce insists on a callable.
    raise NotImplementedError


class Storage:
  """A 1-D storage: ``values`` are written raw after the pickles."""

  def __init__(self, key, values, kind='FloatStorage'):
    self.key = key
    self.kind = kind
    self.values = np.asarray(values, _DTYPES[kind]).ravel()


class Tensor:
  """A tensor on a storage: pickles as ``_rebuild_tensor_v2(...)``."""

  def __init__(self, storage, offset, size, stride):
    self.storage = storage
    self.offset = offset
    self.size = tuple(size)
    self.stride = tuple(stride)


class Call:
  """Pickles as ``func(*args)`` for an arbitrary global ``func``."""

  def __init__(self, func, args):
    self.func = func
    self.args = args


class _Pickler(pickle._Pickler):  # pylint: disable=protected-access
  """The pure-Python pickler, taught to write made-up globals."""

  def __init__(self, file):
    super().__init__(file, protocol=2)

  def save(self, obj, save_persistent_id=True):
    if isinstance(obj, Global):
      self.write(pickle.GLOBAL + f'{obj.module}\n{obj.name}\n'.encode())
      return
    if isinstance(obj, Tensor):
      self.save_reduce(Global('torch._utils', '_rebuild_tensor_v2'),
                       (obj.storage, obj.offset, obj.size, obj.stride, False,
                        Call(Global('collections', 'OrderedDict'), ())),
                       obj=None)
      return
    if isinstance(obj, Call):
      self.save_reduce(obj.func, obj.args, obj=None)
      return
    super().save(obj, save_persistent_id)

  def persistent_id(self, obj):
    if isinstance(obj, Storage):
      return ('storage', Global('torch', obj.kind), obj.key, 'cpu',
              obj.values.size, None)
    return None


def legacy_bytes(state, storages, sys_info=None):
  """The bytes of a legacy ``.pth`` file.

  Args:
    state: the object to pickle (e.g. an OrderedDict of :class:`Tensor`).
    storages: the :class:`Storage` objects, in the order their data follows.
    sys_info: the system-information record (default little-endian).
  """
  f = io.BytesIO()
  pickle.dump(MAGIC_NUMBER, f, protocol=2)
  pickle.dump(1001, f, protocol=2)
  pickle.dump(sys_info or {'protocol_version': 1001, 'little_endian': True,
                           'type_sizes': {'short': 2, 'int': 4, 'long': 4}},
              f, protocol=2)
  _Pickler(f).dump(state)
  pickle.dump([s.key for s in storages], f, protocol=2)
  for s in storages:
    f.write(struct.pack('<q', s.values.size))
    f.write(s.values.tobytes())
  return f.getvalue()


def sample_state():
  """A small state dict exercising the layouts the reader must handle.

  Returns:
    ``(state, storages, expected)``: the picklable state, its storages and
    the arrays the reader must return.
  """
  rng = np.random.default_rng(0)
  conv = Storage('1001', rng.standard_normal(2 * 3 * 3 * 3))
  # One storage shared by two tensors: a matrix and, at an offset, a
  # transposed (non-contiguous) view of part of it.
  shared = Storage('1002', rng.standard_normal(20))
  count = Storage('1003', [7], 'LongStorage')
  state = collections.OrderedDict([
      ('conv.weight', Tensor(conv, 0, (2, 3, 3, 3), (27, 9, 3, 1))),
      ('fc.weight', Tensor(shared, 0, (2, 5), (5, 1))),
      ('fc.weight_t', Tensor(shared, 10, (5, 2), (1, 5))),
      ('bn.num_batches_tracked', Tensor(count, 0, (), ())),
  ])
  expected = collections.OrderedDict([
      ('conv.weight', conv.values.reshape(2, 3, 3, 3)),
      ('fc.weight', shared.values[:10].reshape(2, 5)),
      ('fc.weight_t', shared.values[10:].reshape(2, 5).T),
      ('bn.num_batches_tracked', np.array(7, np.int64)),
  ])
  return state, [conv, shared, count], expected
