"""End-to-end parity of the slim zoo nets with the original TF1 code.

For every net: write a slim-format checkpoint holding the deterministic
salt-0 weights of the golden manifest, load it through the real loader
(:func:`fia_tf.zoo.checkpoint.load_slim_checkpoint`, strict by name), run
1.png and 2.png, and compare with what the original code produced: variable
manifest, logits, every end point, the FIA-layer feature map, the FIA
importance gradient and FIA's first-iteration input gradient (through the
attack engine). To add a net, list it in :data:`NETS`.

Tolerances: the forward pass matches to ~1e-6 and is held to 1e-4. Gradients
are piecewise (ReLU at ~0, max-pool near-ties switch where they flow), so two
float32 evaluations of the same net can differ by several percent of
max|grad| per element, by how much depends on the CPU. Their norms agree to
< 3e-4 and are held to 1e-3 on every machine. Element values are judged
against a float64 evaluation of the same Keras net: the golden values must be
no further from it than :data:`tests.helpers.golden.NOISE_FACTOR` times our
own float32 results are (as computed, and with every weight nudged by 1e-6
relative; :mod:`tests.helpers.golden`).
"""

import importlib
import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from fia_tf.zoo import checkpoint
from fia_tf.zoo import registry
from fia_tf.zoo import testing

import fia_tf
from tests.helpers import golden as golden_lib
from tests.helpers.golden import golden_manifest
from tests.helpers.golden import golden_npz
from tests.helpers.golden import load_images
from tests.helpers.golden import rel_err


pytestmark = pytest.mark.golden
RTOL = 1e-4
GRAD_NORM_RTOL = 1e-3
# Weight perturbations (seeds) of the float-noise envelope.
NOISE_SEEDS = golden_lib.WEIGHT_SEEDS

NETS = ('vgg_16', 'vgg_19', 'resnet_v1_50', 'resnet_v1_152', 'resnet_v2_50',
        'resnet_v2_152', 'inception_v3', 'inception_v4', 'inception_resnet_v2')


def _available(net):
  module = registry.get_spec(net).builder.partition(':')[0]
  try:
    importlib.import_module(module)
  except ModuleNotFoundError:
    return False
  return True


def _params():
  for net in NETS:
    marks = () if _available(net) else pytest.mark.skip(
        reason=f'builder of {net} not written yet')
    yield pytest.param(net, marks=marks, id=net)


def _is_aux(name):
  return '/AuxLogits/' in name


def tape_gradient(probe, x, onehot):
  """Gradient of the true-class logits w.r.t. the FIA layer (probe's [-2])."""
  with tf.GradientTape() as tape:
    outs = probe(x, training=False)
    objective = tf.reduce_sum(outs[-1] * onehot)
  return tape.gradient(objective, outs[-2]).numpy()


def fia_gradients64(model, feat_layer, spec, pixels, labels):
  """Section B's ``grad`` and ``xgrad`` evaluated in float64.

  ``xgrad`` is the input gradient of ``sum(features * W)`` with
  ``W = -grad / ||grad||`` per image (the ens-0 FIA weights).
  """
  both = keras.Model(model.inputs, [model.get_layer(feat_layer).output,
                                    model.outputs[0]])
  x = spec.preprocess(tf.constant(pixels, tf.float64))
  onehot = tf.one_hot(labels, spec.num_classes, dtype=tf.float64)
  with tf.GradientTape() as tape:
    feat, logits = both(x, training=False)
    objective = tf.reduce_sum(logits * onehot)
  grad = tape.gradient(objective, feat)
  weights = -grad / tf.sqrt(tf.reduce_sum(grad * grad, [1, 2, 3],
                                          keepdims=True))
  with tf.GradientTape() as tape:
    tape.watch(x)
    objective = tf.reduce_sum(both(x, training=False)[0] * weights)
  return grad.numpy(), tape.gradient(objective, x).numpy()


@pytest.fixture(scope='module', params=list(_params()))
def net(request, tmp_path_factory):
  """Builds one net, loads the golden checkpoint and runs the probes."""
  name = request.param
  spec = registry.get_spec(name)
  golden = golden_npz(name)
  manifest = golden_manifest(name)

  model = spec.build()
  path = tmp_path_factory.mktemp(name) / f'{name}.ckpt'
  weights = testing.golden_weights(manifest['variables'])
  testing.write_slim_checkpoint(path, weights)
  report = checkpoint.load_slim_checkpoint(model, path)

  eps = spec.end_points()
  ep_names = [str(n) for n in golden['ep_names']]
  layer_names = {layer.name for layer in model.layers}
  probe_names = [n for n in ep_names if eps.get(n) in layer_names]
  feat_layer = spec.resolve_layer(str(golden['fia_layer_op']), layer_names)
  assert feat_layer is not None
  outputs = [model.get_layer(eps[n]).output for n in probe_names]
  outputs += [model.get_layer(feat_layer).output, model.outputs[0]]
  probe = keras.Model(model.inputs, outputs)

  pixels = load_images(spec.input_size)
  x = spec.preprocess(tf.constant(pixels.astype(np.float32)))
  onehot = tf.one_hot(golden['labels_used'], spec.num_classes)
  with tf.GradientTape() as tape:
    outs = probe(x, training=False)
    feat, logits = outs[-2], outs[-1]
    objective = tf.reduce_sum(logits * onehot)
  grad = tape.gradient(objective, feat)
  # FIA's first-iteration input gradient through the engine (ens 0, model
  # domain); the original divides by the element count of its
  # [2B, H, W, C] feature batch, section B's xgrad and our objective (per
  # image: H * W * C) do not, so ours is scaled back by H * W * C.
  source = fia_tf.SourceModel(model=model, preprocess=spec.preprocess,
                              inverse=spec.deprocess,
                              scale=spec.input_units_per_pixel,
                              feature_layer=feat_layer, name=name)
  attack = fia_tf.Attack(source, fia_tf.AttackConfig(
      method='FIA', ens=0, domain='model', clip='final'))
  size = int(np.prod(golden['feat_shape']))
  labels = np.asarray(golden['labels_used'])

  def gradients():
    g = tape_gradient(probe, x, onehot)
    xg = attack.input_gradient(pixels.astype(np.float32), labels)
    return g, xg.numpy() * size

  reruns = []
  perturbations = golden_lib.Perturbations(model, NOISE_SEEDS)
  for seed in NOISE_SEEDS:
    with perturbations.weights(seed):
      reruns.append(gradients())
  del perturbations
  model64 = golden_lib.float64_model(spec, weights)
  del weights
  grad64, xgrad64 = fia_gradients64(model64, feat_layer, spec, pixels,
                                    golden['labels_used'])
  del model64
  xgrad = attack.input_gradient(pixels.astype(np.float32), labels).numpy()
  result = {
      'name': name, 'spec': spec, 'model': model, 'golden': golden,
      'manifest': manifest, 'report': report, 'x': x.numpy(),
      'pixels': pixels, 'ep_names': ep_names, 'probe_names': probe_names,
      'end_points': {n: t.numpy() for n, t in zip(probe_names, outs)},
      'feat': feat.numpy(), 'grad': grad.numpy(), 'logits': logits.numpy(),
      'xgrad': xgrad * size, 'grad64': grad64, 'xgrad64': xgrad64,
      'grad_reruns': [r[0] for r in reruns],
      'xgrad_reruns': [r[1] for r in reruns],
  }
  yield result
  keras.backend.clear_session()


def test_variables_match_manifest(net):
  """Name for name and shape for shape (AuxLogits heads are left out)."""
  ours = {n: tuple(w.shape)
          for n, w in checkpoint.model_variables(net['model']).items()}
  expected = {n: tuple(s) for n, s in net['manifest']['variables']
              if not _is_aux(n)}
  assert sorted(ours) == sorted(expected)
  assert ours == expected


def test_loader_used_every_checkpoint_variable(net):
  aux = sorted(n for n, _ in net['manifest']['variables'] if _is_aux(n))
  assert net['report'].loaded == len(net['manifest']['variables']) - len(aux)
  assert sorted(net['report'].ignored) == aux


def test_preprocessing_matches_original_input(net):
  g = net['golden']
  x = net['x'].astype(np.float64).reshape(2, -1)
  np.testing.assert_allclose(x.sum(axis=1), g['input_sum'], rtol=1e-6)
  np.testing.assert_allclose((x * x).sum(axis=1), g['input_sumsq'], rtol=1e-6)
  np.testing.assert_array_equal(net['x'].reshape(2, -1)[:, :64],
                                g['input_first64'])


def test_logits(net):
  g = net['golden']
  assert net['logits'].shape == g['logits'].shape
  assert rel_err(net['logits'], g['logits']) <= RTOL
  np.testing.assert_array_equal(np.argmax(net['logits'], axis=1),
                                np.argmax(g['logits'], axis=1))
  # The model's own output is the same tensor as the probe's logits.
  direct = net['model'](net['x'], training=False).numpy()
  assert rel_err(direct, g['logits']) <= RTOL


def test_every_end_point(net):
  g = net['golden']
  missing = [n for n in net['ep_names'] if n not in net['probe_names']]
  # Only the softmax is not a layer: the models stop at the logits.
  assert set(missing) <= {'predictions', 'Predictions', 'AuxLogits'}
  for n in net['probe_names']:
    i = net['ep_names'].index(n)
    t = net['end_points'][n].astype(np.float64).reshape(2, -1)
    np.testing.assert_allclose((t * t).sum(axis=1), g['ep_sumsq'][i],
                               rtol=RTOL, err_msg=n)
    # A sum may be near zero; judge it against its bound sqrt(N * sumsq).
    bound = np.sqrt(t.shape[1] * g['ep_sumsq'][i])
    assert np.all(np.abs(t.sum(axis=1) - g['ep_sum'][i]) <= RTOL * bound), n


def _check_norms(t, g, prefix, rtol):
  """Sum of squares, L2 norm and sum against the golden statistics."""
  flat = t.reshape(t.shape[0], -1).astype(np.float64)
  sumsq = (flat * flat).sum(axis=1)
  np.testing.assert_allclose(sumsq, g[f'{prefix}_sumsq'], rtol=2 * rtol)
  np.testing.assert_allclose(np.sqrt(sumsq), g[f'{prefix}_l2'], rtol=rtol)
  bound = np.sqrt(flat.shape[1] * g[f'{prefix}_sumsq'])
  assert np.all(np.abs(flat.sum(axis=1) - g[f'{prefix}_sum']) <= RTOL * bound)


def _samples(t, g, prefix):
  """The 128 golden-sampled values per image: first64, then strided64."""
  flat = t.reshape(t.shape[0], -1)
  index = g['xgrad_strided_idx' if prefix == 'xgrad' else 'strided_idx']
  return np.concatenate([flat[:, :64], flat[:, index]], axis=1)


def _check_samples_within_noise(net, prefix):
  """Golden sampled values and max|.| lie within our float noise of float64.

  Divergences are relative to the golden L2 norm of the samples (all images
  together), so one measure covers the map.
  """
  g = net['golden']
  reference = _samples(net[f'{prefix}64'], g, prefix)
  golden_values = np.concatenate([g[f'{prefix}_first64'],
                                  g[f'{prefix}_strided64']], axis=1)
  scale = np.linalg.norm(golden_values)
  ours = [net[prefix]] + net[f'{prefix}_reruns']

  def divergence(values):
    return float(np.linalg.norm(values - reference) / scale)
  golden_error = divergence(golden_values)
  noise = [divergence(_samples(t, g, prefix)) for t in ours]
  ok, bar = golden_lib.within_noise(golden_error, noise)
  absmax = lambda t: np.abs(t.reshape(t.shape[0], -1)).max(axis=1)
  absmax_ref = absmax(net[f'{prefix}64'])
  absmax_error = float(np.max(np.abs(g[f'{prefix}_absmax'] - absmax_ref) /
                              absmax_ref))
  absmax_noise = [float(np.max(np.abs(absmax(t) - absmax_ref) / absmax_ref))
                  for t in ours]
  absmax_ok, absmax_bar = golden_lib.within_noise(absmax_error, absmax_noise)
  print(json.dumps({'net': net['name'], 'map': prefix,
                    'golden_vs_float64': golden_error,
                    'ours_vs_float64': noise, 'bar': bar,
                    'absmax_golden': absmax_error, 'absmax_bar': absmax_bar}))
  assert ok, (golden_error, noise)
  assert absmax_ok, (absmax_error, absmax_noise)


def test_fia_feature(net):
  g = net['golden']
  feat = net['feat']
  assert tuple(feat.shape[1:]) == tuple(g['feat_shape'])
  _check_norms(feat, g, 'feat', RTOL)
  np.testing.assert_allclose(np.abs(feat.reshape(2, -1)).max(axis=1),
                             g['feat_absmax'], rtol=RTOL)
  scale = g['feat_absmax'][:, None]
  assert np.all(np.abs(_samples(feat, g, 'feat') - np.concatenate(
      [g['feat_first64'], g['feat_strided64']], axis=1)) <= RTOL * scale)


@pytest.mark.parametrize('prefix', ['grad', 'xgrad'])
def test_fia_gradients(net, prefix):
  """The importance gradient and the first-iteration input gradient.

  Norms on our float32 result (1e-3, CPU-independent); element values and
  the maximum within float noise of the float64 evaluation.
  """
  if prefix == 'grad':
    assert tuple(net['grad'].shape[1:]) == tuple(net['golden']['grad_shape'])
  else:
    assert net['xgrad'].shape == net['x'].shape
  _check_norms(net[prefix], net['golden'], prefix, GRAD_NORM_RTOL)
  _check_norms(net[f'{prefix}64'], net['golden'], prefix, GRAD_NORM_RTOL)
  _check_samples_within_noise(net, prefix)


def test_default_fia_layer_is_the_golden_one(net):
  spec = net['spec']
  assert spec.default_layer == str(net['golden']['fia_layer_op'])
  layer_names = {layer.name for layer in net['model'].layers}
  resolved = spec.resolve_layer(spec.default_layer, layer_names)
  assert net['model'].get_layer(resolved).output.shape[1:] == tuple(
      net['golden']['feat_shape'])


def test_every_golden_end_point_resolves(net):
  layer_names = {layer.name for layer in net['model'].layers}
  for n in net['probe_names']:
    assert net['spec'].resolve_layer(n, layer_names) is not None, n
