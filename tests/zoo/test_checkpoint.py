"""The strict slim checkpoint loader, on a tiny slim-style net."""

import numpy as np
import pytest

from fia_tf.zoo import checkpoint
from fia_tf.zoo import testing
from fia_tf.zoo import tiny


@pytest.fixture(scope='module')
def model():
  return tiny.tiny_net()


@pytest.fixture(scope='module')
def variables(model):
  """The tiny net's checkpoint variables with golden values."""
  shapes = [(n, w.shape) for n, w in checkpoint.model_variables(model).items()]
  return testing.golden_weights(shapes, salt=7)


def _write(tmp_path, variables, name='tiny.ckpt'):
  return testing.write_slim_checkpoint(tmp_path / name, variables)


def test_variable_names_follow_slim(model):
  names = sorted(checkpoint.model_variables(model))
  assert 'tiny_net/conv1/weights' in names
  assert 'tiny_net/conv1/BatchNorm/gamma' in names
  assert 'tiny_net/block/conv2/BatchNorm/moving_variance' in names
  assert 'tiny_net/logits/biases' in names
  assert 'tiny_net/conv1/biases' not in names  # bias folded into BatchNorm


def test_loads_every_variable_by_name(model, variables, tmp_path):
  path = _write(tmp_path, variables)
  report = checkpoint.load_slim_checkpoint(model, path)
  assert report.loaded == len(variables)
  assert report.ignored == ()
  for name, weight in checkpoint.model_variables(model).items():
    np.testing.assert_array_equal(weight.numpy(), variables[name])


def test_accepts_index_file_and_directory(model, variables, tmp_path):
  path = _write(tmp_path, variables)
  assert checkpoint.load_slim_checkpoint(model, path + '.index').loaded
  assert checkpoint.load_slim_checkpoint(model, tmp_path).loaded


def test_missing_variable(model, variables, tmp_path):
  broken = dict(variables)
  del broken['tiny_net/block/conv2/BatchNorm/beta']
  path = _write(tmp_path, broken)
  with pytest.raises(checkpoint.CheckpointError) as e:
    checkpoint.load_slim_checkpoint(model, path)
  message = str(e.value)
  assert "'tiny_net/block/conv2/BatchNorm/beta'" in message
  assert 'missing' in message and path in message
  assert isinstance(e.value, ValueError)


def test_wrong_shape(model, variables, tmp_path):
  broken = dict(variables)
  broken['tiny_net/logits/weights'] = np.zeros((1, 1, 8, 11), np.float32)
  path = _write(tmp_path, broken)
  with pytest.raises(checkpoint.CheckpointError,
                     match=r"tiny_net/logits/weights.*\(1, 1, 8, 11\).*"
                     r"expects \(1, 1, 8, 10\)"):
    checkpoint.load_slim_checkpoint(model, path)


def test_nothing_assigned_on_error(model, variables, tmp_path):
  checkpoint.load_slim_checkpoint(model, _write(tmp_path, variables))
  broken = {n: v + 1 for n, v in variables.items()}
  broken['tiny_net/extra/weights'] = np.zeros((3,), np.float32)
  with pytest.raises(checkpoint.CheckpointError):
    checkpoint.load_slim_checkpoint(model, _write(tmp_path, broken, 'b.ckpt'))
  for name, weight in checkpoint.model_variables(model).items():
    np.testing.assert_array_equal(weight.numpy(), variables[name])


def test_extra_unknown_variable(model, variables, tmp_path):
  extra = dict(variables)
  extra['tiny_net/conv9/weights'] = np.zeros((3, 3, 8, 8), np.float32)
  path = _write(tmp_path, extra)
  with pytest.raises(checkpoint.CheckpointError,
                     match=r"'tiny_net/conv9/weights'.*not used by the model"):
    checkpoint.load_slim_checkpoint(model, path)


def test_documented_ignores_are_reported(model, variables, tmp_path):
  extra = dict(variables)
  extra['global_step'] = np.array(100, np.int64)
  extra['tiny_net/AuxLogits/Conv2d_2b_1x1/weights'] = np.zeros(
      (1, 1, 8, 10), np.float32)
  extra['tiny_net/conv1/weights/ExponentialMovingAverage'] = (
      variables['tiny_net/conv1/weights'])
  extra['tiny_net/conv1/weights/RMSProp'] = variables['tiny_net/conv1/weights']
  path = _write(tmp_path, extra)
  report = checkpoint.load_slim_checkpoint(model, path)
  assert set(report.ignored) == set(extra) - set(variables)
  # With no ignore list, the same checkpoint is rejected.
  with pytest.raises(checkpoint.CheckpointError, match='global_step'):
    checkpoint.load_slim_checkpoint(model, path, ignore=())


def test_renamed_scope(model, variables, tmp_path):
  renamed = {n.replace('tiny_net/', 'AdvTinyNet/', 1): v
             for n, v in variables.items()}
  path = _write(tmp_path, renamed, 'tiny_rename.ckpt')
  with pytest.raises(checkpoint.CheckpointError, match='scope_map'):
    checkpoint.load_slim_checkpoint(model, path)
  report = checkpoint.load_slim_checkpoint(
      model, path, scope_map={'tiny_net': 'AdvTinyNet'})
  assert report.loaded == len(variables)
  assert checkpoint.top_level_scopes(path) == {'AdvTinyNet'}


def test_non_checkpoint_file(model, tmp_path):
  bogus = tmp_path / 'model.ckpt'
  bogus.write_bytes(b'this is not a checkpoint\n' * 10)
  with pytest.raises(checkpoint.CheckpointError,
                     match='not a readable TensorFlow checkpoint'):
    checkpoint.load_slim_checkpoint(model, bogus)


def test_truncated_checkpoint(model, variables, tmp_path):
  path = _write(tmp_path, variables)
  data = next(tmp_path.glob('tiny.ckpt.data-*'))
  data.write_bytes(data.read_bytes()[:100])
  with pytest.raises(checkpoint.CheckpointError):
    checkpoint.load_slim_checkpoint(model, path)


def test_missing_file(model, tmp_path):
  with pytest.raises(checkpoint.CheckpointError, match='no checkpoint found'):
    checkpoint.load_slim_checkpoint(model, tmp_path / 'nothing.ckpt')


def test_golden_generator_matches_weights_check():
  import json  # pylint: disable=import-outside-toplevel
  from tests.helpers.golden import GOLDEN  # pylint: disable=import-outside-toplevel
  with open(f'{GOLDEN}/salt0/weights_check.json') as f:
    check = json.load(f)
  for net in ('vgg_16', 'resnet_v1_50', 'resnet_v2_152'):
    with open(f'{GOLDEN}/manifests/{net}.json') as f:
      manifest = json.load(f)
    # A few variables of every kind, incl. the first and the last.
    picked = manifest['variables'][:6] + manifest['variables'][-2:]
    for name, shape in picked:
      value = testing.golden_value(name, shape)
      np.testing.assert_allclose(testing.weight_checksum(value),
                                 check[net][name], rtol=1e-12, err_msg=name)
