"""Reads legacy PyTorch ``.pth`` state dicts into NumPy, without torch.

``torch.load`` runs a general unpickler: a ``.pth`` file from anywhere can
execute code. This reader accepts only what a state dict of plain tensors
needs and refuses everything else, so weight files shipped in third-party
packages can be read safely, and without installing PyTorch.

The legacy (pre-zip, ``torch.save(..., _use_new_zipfile_serialization=
False)``) layout is a sequence of pickles followed by raw bytes:

1. the magic number ``0x1950a86a20f9469cfc6c``;
2. the protocol version (1001);
3. a dict of system information (byte order, type sizes);
4. the object itself (here an ``OrderedDict`` of tensors). Tensors are
   ``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)``
   calls whose storages are *persistent ids* ``('storage', <storage class>,
   key, location, numel, view)``;
5. the list of storage keys, in the order their data follows;
6. for each key: its element count as a little-endian int64, then the
   elements' raw bytes.

Only these globals are allowed in the object pickle:
``collections.OrderedDict``, ``torch._utils._rebuild_tensor_v2`` and the
``torch.<Type>Storage`` classes listed in :data:`STORAGE_DTYPES` (the
storage classes are used as dtype tokens; nothing of torch is imported). Any
other global is refused with :class:`UnsafePickleError` naming it.
"""

import collections
import io
import os
import pickle
import struct
from typing import Dict

import numpy as np

MAGIC_NUMBER = 0x1950a86a20f9469cfc6c
PROTOCOL_VERSION = 1001

# torch storage class -> NumPy dtype of its elements (little-endian here;
# swapped when the file says it was written big-endian).
STORAGE_DTYPES = {
    'FloatStorage': '<f4',
    'DoubleStorage': '<f8',
    'HalfStorage': '<f2',
    'LongStorage': '<i8',
    'IntStorage': '<i4',
    'ShortStorage': '<i2',
    'CharStorage': 'i1',
    'ByteStorage': 'u1',
    'BoolStorage': '?',
}


class TorchFileError(ValueError):
  """A ``.pth`` file is not a well-formed legacy PyTorch file."""


class UnsafePickleError(TorchFileError, pickle.UnpicklingError):
  """The pickle asks for a global outside the whitelist."""


class _StorageType:
  """Stands for a ``torch.<Type>Storage`` class: only its dtype matters."""

  def __init__(self, name):
    self.name = name
    self.dtype = np.dtype(STORAGE_DTYPES[name])

  def __repr__(self):
    return f'torch.{self.name}'


class _Storage:
  """A storage announced by a persistent id; data is filled in later."""

  def __init__(self, key, dtype, numel):
    self.key = key
    self.dtype = dtype
    self.numel = numel
    self.data = None  # 1-D np.ndarray once read


class _TensorRef:
  """What ``_rebuild_tensor_v2`` returns until the storages are read."""

  def __init__(self, storage, offset, size, stride):
    self.storage = storage
    self.offset = offset
    self.size = size
    self.stride = stride

  def to_numpy(self):
    data = self.storage.data
    if not self.size:
      return data[self.offset:self.offset + 1].reshape(()).copy()
    needed = self.offset + 1 + sum(
        (n - 1) * s for n, s in zip(self.size, self.stride) if n > 0)
    if any(n == 0 for n in self.size):
      return np.zeros(self.size, data.dtype)
    if any(s < 0 for s in self.stride) or needed > data.size:
      raise TorchFileError(
          f'tensor of size {self.size} and stride {self.stride} at offset '
          f'{self.offset} does not fit its storage {self.storage.key!r} of '
          f'{data.size} elements')
    item = data.itemsize
    view = np.lib.stride_tricks.as_strided(
        data[self.offset:], shape=self.size,
        strides=tuple(s * item for s in self.stride), writeable=False)
    # A copy: the result owns writable memory, not a window on the file.
    return view.copy()


def _rebuild_tensor_v2(storage, storage_offset, size, stride,
                       requires_grad=False, backward_hooks=None,
                       metadata=None):
  """Stand-in for ``torch._utils._rebuild_tensor_v2``: records, builds
  nothing."""
  del requires_grad, backward_hooks, metadata  # Irrelevant to the values.
  if not isinstance(storage, _Storage):
    raise TorchFileError(f'tensor built on {type(storage).__name__}, not on '
                         'a storage')
  size = tuple(size)
  stride = tuple(stride)
  if (len(size) != len(stride) or not isinstance(storage_offset, int) or
      not all(isinstance(v, int) for v in size + stride)):
    raise TorchFileError(f'bad tensor geometry: offset {storage_offset!r}, '
                         f'size {size!r}, stride {stride!r}')
  if storage_offset < 0 or any(n < 0 for n in size):
    raise TorchFileError(f'bad tensor geometry: negative offset or size '
                         f'(offset {storage_offset}, size {size})')
  return _TensorRef(storage, storage_offset, size, stride)


class _RestrictedUnpickler(pickle.Unpickler):
  """Unpickler for the state-dict pickle of a legacy ``.pth`` file."""

  def __init__(self, file, byte_order):
    super().__init__(file)
    self._byte_order = byte_order
    self.storages = {}

  def find_class(self, module, name):
    if module == 'collections' and name == 'OrderedDict':
      return collections.OrderedDict
    if module == 'torch._utils' and name == '_rebuild_tensor_v2':
      return _rebuild_tensor_v2
    if module == 'torch' and name in STORAGE_DTYPES:
      return _StorageType(name)
    raise UnsafePickleError(
        f'refusing to load global {module}.{name}: only '
        'collections.OrderedDict, torch._utils._rebuild_tensor_v2 and '
        'torch.*Storage are allowed in a state dict')

  def persistent_load(self, pid):
    if (not isinstance(pid, tuple) or len(pid) != 6 or pid[0] != 'storage'
        or not isinstance(pid[1], _StorageType)):
      raise TorchFileError(f'unsupported persistent id {pid!r}')
    _, storage_type, key, _, numel, view = pid
    if not isinstance(key, str) or not isinstance(numel, int) or numel < 0:
      raise TorchFileError(f'bad storage reference {pid!r}')
    dtype = storage_type.dtype.newbyteorder(self._byte_order)
    storage = self.storages.get(key)
    if storage is None:
      storage = self.storages[key] = _Storage(key, dtype, numel)
    elif storage.dtype != dtype:
      raise TorchFileError(f'storage {key!r} is used with two dtypes')
    if view is not None:
      # Old torch versions pickled views of a root storage; a view is the
      # root's elements [offset, offset + size).
      if (not isinstance(view, tuple) or len(view) != 3 or
          not all(isinstance(v, int) for v in view[1:])):
        raise TorchFileError(f'bad storage view {view!r}')
      _, offset, size = view
      return _View(storage, offset, size)
    return storage


class _View(_Storage):
  """A slice of a root storage (old torch's storage views)."""

  def __init__(self, root, offset, size):
    super().__init__(f'{root.key}[{offset}:{offset + size}]', root.dtype, size)
    self.root = root
    self.offset = offset

  def resolve(self):
    if self.offset < 0 or self.offset + self.numel > self.root.data.size:
      raise TorchFileError(f'storage view {self.key} exceeds its root')
    self.data = self.root.data[self.offset:self.offset + self.numel]


def _load_plain(f, what):
  """One pickle of plain data (no globals at all)."""
  try:
    return _PlainUnpickler(f).load()
  except UnsafePickleError:
    raise
  except (EOFError, pickle.UnpicklingError, ValueError, TypeError,
          IndexError, KeyError, AttributeError) as e:
    raise TorchFileError(f'cannot read the {what}: {e or type(e).__name__}'
                         ) from e


class _PlainUnpickler(pickle.Unpickler):

  def find_class(self, module, name):
    raise UnsafePickleError(f'refusing to load global {module}.{name}: the '
                            'header pickles of a .pth file hold plain data')


def _walk(obj, fn):
  """Applies ``fn`` to every tensor ref inside dicts, lists and tuples."""
  if isinstance(obj, _TensorRef):
    return fn(obj)
  if isinstance(obj, dict):
    out = type(obj)() if isinstance(obj, collections.OrderedDict) else {}
    for k, v in obj.items():
      out[k] = _walk(v, fn)
    return out
  if isinstance(obj, (list, tuple)):
    return type(obj)(_walk(v, fn) for v in obj)
  return obj


def load_state_dict(path) -> Dict[str, np.ndarray]:
  """Reads a legacy-format PyTorch state dict as NumPy arrays.

  Args:
    path: a ``.pth`` file written by ``torch.save`` in the legacy format, or
      a binary file object positioned at its start.

  Returns:
    ``collections.OrderedDict`` from key (``'_conv_stem.weight'``) to a
    C-contiguous ``np.ndarray`` with the tensor's shape (PyTorch layout,
    e.g. OIHW for convolutions) and dtype (float32 for ``FloatStorage``,
    int64 for ``LongStorage``).

  Raises:
    UnsafePickleError: the file's pickles ask for a global outside the
      whitelist (the message names it). Nothing of the file has been run.
    TorchFileError: the file is not a legacy ``.pth`` file (e.g. a zip-based
      one), is truncated, or its parts disagree; the message says which.
  """
  if hasattr(path, 'read'):
    raw = path.read()
    name = getattr(path, 'name', '<file>')
  else:
    name = os.fspath(path)
    with open(name, 'rb') as f:
      raw = f.read()
  try:
    return _parse(raw)
  except TorchFileError as e:
    raise type(e)(f'{name}: {e}') from e.__cause__
  except RecursionError:
    # A state dict is a flat mapping; only a hostile or broken file nests
    # containers deeper than the interpreter's recursion limit.
    raise TorchFileError(
        f'{name}: the pickle nests containers too deeply to be a state dict '
        '(Python recursion limit reached)') from None


def _parse(raw):
  if raw[:2] == b'PK':
    raise TorchFileError(
        'this is a zip-based .pth file (torch >= 1.6 default format); only '
        'the legacy format is supported')
  f = io.BytesIO(raw)
  magic = _load_plain(f, 'magic number')
  if magic != MAGIC_NUMBER:
    raise TorchFileError('not a legacy PyTorch file (bad magic number)')
  protocol = _load_plain(f, 'protocol version')
  if protocol != PROTOCOL_VERSION:
    raise TorchFileError(f'unsupported protocol version {protocol!r}')
  sys_info = _load_plain(f, 'system information')
  if not isinstance(sys_info, dict):
    raise TorchFileError('bad system information record')
  byte_order = '<' if sys_info.get('little_endian', True) else '>'

  unpickler = _RestrictedUnpickler(f, byte_order)
  try:
    obj = unpickler.load()
  except TorchFileError:
    raise
  except (EOFError, pickle.UnpicklingError, ValueError, TypeError,
          IndexError, KeyError, AttributeError) as e:
    raise TorchFileError(f'cannot read the state-dict pickle: '
                         f'{e or type(e).__name__}') from e

  keys = _load_plain(f, 'storage key list')
  if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
    raise TorchFileError('bad storage key list')
  storages = unpickler.storages
  missing = set(storages) - set(keys)
  if missing:
    raise TorchFileError(f'storages {sorted(missing)} have no data')
  pos = f.tell()
  for key in keys:
    if key not in storages:
      raise TorchFileError(f'data for unknown storage {key!r}')
    storage = storages[key]
    if pos + 8 > len(raw):
      raise TorchFileError(
          f'file is truncated: the size of storage {key!r} should be at '
          f'byte {pos}, but the file has {len(raw)} bytes')
    (numel,) = struct.unpack('<q', raw[pos:pos + 8])
    pos += 8
    if numel != storage.numel:
      raise TorchFileError(f'storage {key!r} has {numel} elements, its '
                           f'reference says {storage.numel}')
    nbytes = numel * storage.dtype.itemsize
    if pos + nbytes > len(raw):
      raise TorchFileError(
          f'file is truncated: storage {key!r} needs {nbytes} bytes at byte '
          f'{pos}, but only {len(raw) - pos} are left')
    storage.data = np.frombuffer(raw, storage.dtype, numel, pos)
    pos += nbytes
  if pos != len(raw):
    raise TorchFileError(f'{len(raw) - pos} unexpected bytes after the last '
                         'storage')

  def materialize(ref):
    if isinstance(ref.storage, _View):
      ref.storage.resolve()
    array = ref.to_numpy()
    return array.astype(array.dtype.newbyteorder('='), copy=False)

  return _walk(obj, materialize)
