"""The restricted reader of legacy PyTorch files (no torch needed)."""

import collections
import importlib.util
import io
import pickle

import numpy as np
import pytest

from fia_tf.zoo import torch_pickle

from tests.imagenet import legacy_pth


def _read(raw):
  return torch_pickle.load_state_dict(io.BytesIO(raw))


def test_reads_hand_made_file(tmp_path):
  state, storages, expected = legacy_pth.sample_state()
  path = tmp_path / 'good.pth'
  path.write_bytes(legacy_pth.legacy_bytes(state, storages))
  got = torch_pickle.load_state_dict(path)
  assert isinstance(got, collections.OrderedDict)
  assert list(got) == list(expected)
  for key, want in expected.items():
    assert got[key].dtype == want.dtype, key
    assert got[key].shape == want.shape, key
    assert got[key].flags['C_CONTIGUOUS'] and got[key].flags['WRITEABLE']
    np.testing.assert_array_equal(got[key], want, err_msg=key)


def test_refuses_malicious_global(tmp_path):
  marker = tmp_path / 'pwned'
  state = collections.OrderedDict([
      ('weight', legacy_pth.Call(legacy_pth.Global('os', 'system'),
                                 (f'touch {marker}',)))])
  raw = legacy_pth.legacy_bytes(state, [])
  # The file is a real exploit: the standard unpickler runs the command.
  legacy = io.BytesIO(raw)
  for _ in range(3):
    pickle.load(legacy)
  pickle.load(legacy)
  assert marker.exists()
  marker.unlink()

  with pytest.raises(torch_pickle.UnsafePickleError, match='os.system'):
    _read(raw)
  assert not marker.exists()


@pytest.mark.parametrize('module,name', [
    ('builtins', 'eval'), ('torch', 'load'),
    ('torch._utils', '_rebuild_qtensor'),
    ('collections', 'defaultdict'), ('numpy', 'frombuffer')])
def test_refuses_other_globals(module, name):
  state = {'x': legacy_pth.Call(legacy_pth.Global(module, name), ())}
  with pytest.raises(torch_pickle.UnsafePickleError,
                     match=f'{module}.{name}'):
    _read(legacy_pth.legacy_bytes(state, []))


def test_refuses_globals_in_header_pickles():
  raw = legacy_pth.legacy_bytes({}, [])
  evil = io.BytesIO()
  legacy_pth._Pickler(evil).dump(  # pylint: disable=protected-access
      legacy_pth.Call(legacy_pth.Global('os', 'system'), ('true',)))
  with pytest.raises(torch_pickle.UnsafePickleError, match='os.system'):
    _read(evil.getvalue() + raw)


@pytest.mark.parametrize('cut', [-1, -7, -40, 'keys', 'state', 'header'])
def test_truncated_file_is_a_clear_error(cut):
  state, storages, _ = legacy_pth.sample_state()
  raw = legacy_pth.legacy_bytes(state, storages)
  if cut == 'keys':  # inside the storage key list
    end = raw.index(b'1003', raw.rindex(b'1001')) - 2
  elif cut == 'state':  # inside the state-dict pickle
    end = raw.index(b'fc.weight')
  elif cut == 'header':
    end = 12
  else:
    end = len(raw) + cut
  with pytest.raises(torch_pickle.TorchFileError) as e:
    _read(raw[:end])
  message = str(e.value)
  if isinstance(cut, int):
    assert 'truncated' in message and 'storage' in message
  else:
    assert 'cannot read' in message


def test_other_malformed_files():
  with pytest.raises(torch_pickle.TorchFileError, match='zip'):
    _read(b'PK\x03\x04' + bytes(100))
  bad_magic = io.BytesIO()
  pickle.dump(1234, bad_magic, protocol=2)
  with pytest.raises(torch_pickle.TorchFileError, match='magic'):
    _read(bad_magic.getvalue())
  state, storages, _ = legacy_pth.sample_state()
  with pytest.raises(torch_pickle.TorchFileError, match='unexpected bytes'):
    _read(legacy_pth.legacy_bytes(state, storages) + b'\0')
  with pytest.raises(torch_pickle.TorchFileError, match='have no data'):
    _read(legacy_pth.legacy_bytes(state, storages[:2]))


def test_reads_big_endian_files():
  state, storages, expected = legacy_pth.sample_state()
  for s in storages:
    s.values = s.values.astype(s.values.dtype.newbyteorder('>'))
  raw = legacy_pth.legacy_bytes(
      state, storages, sys_info={'protocol_version': 1001,
                                 'little_endian': False, 'type_sizes': {}})
  # The element counts stay little-endian (torch writes them so).
  got = _read(raw)
  for key, want in expected.items():
    np.testing.assert_array_equal(got[key], want, err_msg=key)
    assert got[key].dtype.isnative


@pytest.mark.skipif(importlib.util.find_spec('torch') is None,
                    reason='torch is not installed (optional cross-check)')
def test_matches_torch_save(tmp_path):
  import torch  # pylint: disable=import-outside-toplevel
  base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
  state = collections.OrderedDict([
      ('a', base), ('a_t', base.t()), ('b', base[1:, 2:]),
      ('n', torch.tensor(5)), ('d', torch.linspace(0, 1, 7,
                                                   dtype=torch.float64))])
  path = tmp_path / 'torch.pth'
  torch.save(state, path, _use_new_zipfile_serialization=False)
  got = torch_pickle.load_state_dict(path)
  for key, value in state.items():
    np.testing.assert_array_equal(got[key], value.numpy(), err_msg=key)
    assert got[key].dtype == value.numpy().dtype
