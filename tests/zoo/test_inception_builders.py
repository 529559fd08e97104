"""Golden tests for the slim Inception builders (v3, v4, Inception-ResNet-v2).

Each net is built once with its AuxLogits head, filled with the golden
data's deterministic salt-0 weights (:func:`fia_tf.zoo.testing.golden_value`,
assigned by name through :func:`fia_tf.zoo.names.slim_variable_name`, no
checkpoint file), and run on ``1.png`` and ``2.png``. Compared with what the
original TF1 + slim code produced: the variable manifest including the aux
head, the weight generator, the logits, the aux logits, the sum and sum of
squares of every end point and the FIA-layer feature map. The FIA gradients
of these nets are checked, through the real checkpoint loader, with the
other zoo nets in ``test_golden_slim.py``.
"""

import json
import os

import imageio.v3 as iio
import keras
import numpy as np
import pytest
import tensorflow as tf

from fia_tf.zoo import checkpoint
from fia_tf.zoo import inception_resnet_v2
from fia_tf.zoo import inception_v3
from fia_tf.zoo import inception_v4
from fia_tf.zoo import names
from fia_tf.zoo import testing

DATA = os.path.join(os.path.dirname(__file__), os.pardir, 'data')
GOLDEN = os.path.join(DATA, 'golden')

pytestmark = pytest.mark.golden
RTOL = 1e-4

# net -> (builder, aux head builder, end points function)
NETS = {
    'inception_v3': (inception_v3.inception_v3, inception_v3.with_aux_logits,
                     inception_v3.end_points),
    'inception_v4': (inception_v4.inception_v4, inception_v4.with_aux_logits,
                     inception_v4.end_points),
    'inception_resnet_v2': (inception_resnet_v2.inception_resnet_v2,
                            inception_resnet_v2.with_aux_logits,
                            inception_resnet_v2.end_points),
}


def rel_err(actual, expected):
  """max |actual - expected| / max |expected| (a norm-wise relative error).

  Element-wise relative errors are meaningless for values that cross zero,
  so the error is scaled by the largest reference magnitude.
  """
  actual = np.asarray(actual, np.float64)
  expected = np.asarray(expected, np.float64)
  return float(np.max(np.abs(actual - expected)) / np.max(np.abs(expected)))


def feature_layer_name(op_name):
  """Slim op name with doubled prefix -> Keras layer name.

  ``InceptionV3/InceptionV3/Mixed_5b/concat`` ->
  ``InceptionV3.Mixed_5b.concat``.
  """
  parts = op_name.split('/')
  assert parts[0] == parts[1], op_name
  return names.to_keras('/'.join(parts[1:]))


def per_image_stats(t):
  """Float64 sum and sum of squares per image of a float32 tensor."""
  t = np.asarray(t, np.float32).astype(np.float64).reshape(t.shape[0], -1)
  return t.sum(axis=1), (t * t).sum(axis=1)


@pytest.fixture(scope='module')
def golden_images():
  """1.png and 2.png, preprocessed as the original: float64, then float32."""
  batch = [iio.imread(os.path.join(DATA, 'nips17', f)).astype(np.float64)
           for f in ('1.png', '2.png')]
  x = ((np.stack(batch) / 255.0) - 0.5) * 2.0
  return x.astype(np.float32)


@pytest.fixture(scope='module')
def weights_check():
  with open(os.path.join(GOLDEN, 'salt0', 'weights_check.json')) as f:
    return json.load(f)


@pytest.fixture(scope='module', params=list(NETS))
def net(request, golden_images):
  """Builds one net, loads the salt-0 weights and runs it on the images."""
  name = request.param
  build, build_aux, end_points = NETS[name]
  golden = dict(np.load(os.path.join(GOLDEN, 'salt0', f'{name}.npz')))
  with open(os.path.join(GOLDEN, 'manifests', f'{name}.json')) as f:
    manifest = json.load(f)

  model = build()
  aux = build_aux(model)
  variables = {}
  for m in (model, aux):
    for w in m.weights:
      variables[names.slim_variable_name(w.path)] = w
  values = {}
  for var_name, w in variables.items():
    values[var_name] = testing.golden_value(var_name, w.shape)
    w.assign(values[var_name])

  eps = end_points()
  ep_names = [str(n) for n in golden['ep_names']]
  feat_layer = feature_layer_name(str(golden['fia_layer_op']))
  probe_names = [n for n in ep_names if n in eps and n != 'AuxLogits']
  outputs = [model.get_layer(eps[n]).output for n in probe_names]
  outputs += [model.get_layer(feat_layer).output, model.outputs[0],
              aux.outputs[1]]
  probe = keras.Model(model.inputs, outputs)

  x = tf.constant(golden_images)
  outs = probe(x, training=False)
  feat, logits = outs[-3], outs[-2]

  got = {n: t.numpy() for n, t in zip(probe_names, outs)}
  got['AuxLogits'] = outs[-1].numpy()
  got['Predictions'] = tf.nn.softmax(logits).numpy()
  return {
      'name': name,
      'model': model,
      'aux': aux,
      'golden': golden,
      'manifest': manifest,
      'variables': variables,
      'values': values,
      'eps': eps,
      'ep_names': ep_names,
      'end_points': got,
      'logits': logits.numpy(),
      'feat': feat.numpy(),
      'model_logits': model(x, training=False).numpy(),
  }


@pytest.mark.parametrize('name', list(NETS))
def test_input_matches_golden(golden_images, name):
  g = np.load(os.path.join(GOLDEN, 'salt0', f'{name}.npz'))
  s, ss = per_image_stats(golden_images)
  np.testing.assert_allclose(s, g['input_sum'], rtol=1e-12)
  np.testing.assert_allclose(ss, g['input_sumsq'], rtol=1e-12)
  np.testing.assert_array_equal(golden_images.reshape(2, -1)[:, :64],
                                g['input_first64'])


def test_weight_generator_matches_weights_check(net, weights_check):
  expected = weights_check[net['name']]
  assert set(net['values']) == set(expected)
  for var_name, value in net['values'].items():
    np.testing.assert_allclose(testing.weight_checksum(value),
                               expected[var_name], rtol=1e-9, atol=0,
                               err_msg=var_name)
    # The model holds exactly these values.
    np.testing.assert_array_equal(net['variables'][var_name].numpy(), value)


def test_variables_match_manifest(net):
  """Main model + aux head == the checkpoint, name for name, shape for shape."""
  expected = {n: tuple(s) for n, s in net['manifest']['variables']}
  got = {n: tuple(w.shape) for n, w in net['variables'].items()}
  assert got == expected
  assert len(net['variables']) == net['manifest']['count']
  assert sum(int(np.prod(s)) for s in got.values()) == (
      net['manifest']['total_params'])


def test_checkpoint_round_trip(net, tmp_path):
  """The real loader fills the logits model and, strictly, the aux model."""
  path = testing.write_slim_checkpoint(str(tmp_path / 'net.ckpt'),
                                       net['values'])
  for w in net['aux'].weights:
    w.assign(np.zeros(w.shape, w.dtype))
  report = checkpoint.load_slim_checkpoint(net['model'], path)
  assert report.loaded == len(net['model'].weights)
  assert all('/AuxLogits/' in n for n in report.ignored)
  assert len(report.ignored) == len(net['values']) - report.loaded
  # ignore=(): every checkpoint variable must be used by the aux model.
  report = checkpoint.load_slim_checkpoint(net['aux'], path, ignore=())
  assert report.loaded == len(net['values']) and not report.ignored
  for w in net['aux'].weights:
    np.testing.assert_array_equal(
        w.numpy(), net['values'][names.slim_variable_name(w.path)])


def test_main_model_has_no_aux_variables(net):
  """The logits model holds exactly the non-AuxLogits checkpoint variables."""
  main = {names.slim_variable_name(w.path): tuple(w.shape)
          for w in net['model'].weights}
  expected = {n: tuple(s) for n, s in net['manifest']['variables']
              if '/AuxLogits/' not in n}
  assert main == expected


def test_single_logits_output(net):
  model = net['model']
  assert len(model.outputs) == 1
  assert tuple(model.outputs[0].shape) == (None, 1001)
  assert model.name == str(net['golden']['fia_layer_op']).split('/')[0]


def test_logits(net):
  g = net['golden']
  assert rel_err(net['logits'], g['logits']) < RTOL
  # The plain model call (no probe outputs) gives the same logits.
  assert rel_err(net['model_logits'], g['logits']) < RTOL
  np.testing.assert_array_equal(np.argmax(net['logits'], axis=1),
                                np.argmax(g['logits'], axis=1))


def test_every_end_point(net):
  g = net['golden']
  assert set(net['ep_names']) - {'Predictions'} <= set(net['eps'])
  for i, ep in enumerate(net['ep_names']):
    s, ss = per_image_stats(net['end_points'][ep])
    # |sum| <= sqrt(N * sumsq): scale the sum error by that bound so that
    # signed end points (logits) with a near-zero sum are judged fairly.
    n = net['end_points'][ep][0].size
    bound = np.sqrt(n * g['ep_sumsq'][i])
    assert np.all(np.abs(s - g['ep_sum'][i]) <= RTOL * bound), ep
    np.testing.assert_allclose(ss, g['ep_sumsq'][i], rtol=RTOL, err_msg=ep)


def _check_map(t, g, prefix, norm_rtol, element_tol):
  """Compares a per-image [H, W, C] map with the golden statistics.

  Args:
    t: our float32 map, [2, H, W, C].
    g: the golden npz.
    prefix: ``'feat'`` or ``'grad'``.
    norm_rtol: relative tolerance of the sum of squares, L2 norm and max |.|.
      The sum, which may be near zero, is judged against its upper bound
      sqrt(N * sumsq) with :data:`RTOL`.
    element_tol: tolerance of the 128 sampled values (first64, strided64),
      as a fraction of the image's max |.|.
  """
  assert tuple(t.shape[1:]) == tuple(g[f'{prefix}_shape'])
  flat = t.reshape(t.shape[0], -1)
  s, ss = per_image_stats(t)
  np.testing.assert_allclose(ss, g[f'{prefix}_sumsq'], rtol=norm_rtol)
  np.testing.assert_allclose(np.sqrt(ss), g[f'{prefix}_l2'], rtol=norm_rtol)
  np.testing.assert_allclose(np.abs(flat).max(axis=1), g[f'{prefix}_absmax'],
                             rtol=norm_rtol)
  bound = np.sqrt(flat.shape[1] * g[f'{prefix}_sumsq'])
  assert np.all(np.abs(s - g[f'{prefix}_sum']) <= RTOL * bound)
  for i in range(t.shape[0]):
    scale = g[f'{prefix}_absmax'][i]
    first = flat[i, :64]
    strided = flat[i, g['strided_idx']]
    assert np.max(np.abs(first - g[f'{prefix}_first64'][i])) <= (
        element_tol * scale)
    assert np.max(np.abs(strided - g[f'{prefix}_strided64'][i])) <= (
        element_tol * scale)


def test_fia_feature(net):
  _check_map(net['feat'], net['golden'], 'feat', RTOL, RTOL)


def test_feature_layer_is_a_layer(net):
  """The FIA op of the original code is a layer of the model, by name."""
  layer = feature_layer_name(str(net['golden']['fia_layer_op']))
  assert layer in {l.name for l in net['model'].layers}


def test_end_point_layers_are_graph_tensors(net):
  """Each end point's layer carries the op name of the golden tensor."""
  g = net['golden']
  for ep, tensor in zip(net['ep_names'], g['ep_tensors']):
    if ep == 'Predictions':
      continue
    op = str(tensor).rpartition(':')[0]
    parts = op.split('/')
    if parts[0] == parts[1]:  # the doubled prefix of the re-entered scope
      parts = parts[1:]
    layer = names.to_keras('/'.join(parts))
    # slim's Dropout op is <scope>/Dropout.../Identity; SpatialSqueeze and
    # Reshape are named after the op; fully connected layers after BiasAdd.
    for suffix in ('.Identity', '.BiasAdd', '.MaxPool'):
      layer = layer.removesuffix(suffix)
    assert net['eps'][ep] == layer, ep


def test_conv_bn_relu_naming(net):
  """Each bias-free conv ``s`` has layers ``s.BatchNorm`` and ``s.Relu``."""
  model = net['model']
  layer_names = {l.name for l in model.layers}
  convs = [l for l in model.layers if isinstance(l, keras.layers.Conv2D)]
  assert convs
  for conv in convs:
    assert names.to_keras(names.to_slim(conv.name)) == conv.name
    if conv.use_bias:
      # Only the residual up-projections and the v3 logits have biases.
      assert conv.name.endswith(('Conv2d_1x1', 'Conv2d_1c_1x1')), conv.name
      continue
    bn = model.get_layer(conv.name + '.BatchNorm')
    assert bn.epsilon == 0.001 and not bn.scale and bn.center
    assert conv.name + '.Relu' in layer_names


def test_other_num_classes():
  model = inception_v3.inception_v3(num_classes=10)
  assert tuple(model.outputs[0].shape) == (None, 10)
  aux = inception_v3.with_aux_logits(model)
  assert [tuple(o.shape) for o in aux.outputs] == [(None, 10), (None, 10)]


def test_too_large_input_is_rejected():
  # 331 leaves a 9x9 map for v3's 8x8 VALID pool, as in slim.
  with pytest.raises(ValueError, match='squeeze'):
    inception_v3.inception_v3(input_shape=(331, 331, 3))
