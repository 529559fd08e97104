"""The model registry: names, data contract, layer resolution, source models."""

import dataclasses
import json
import os

import numpy as np
import pytest
import tensorflow as tf

from fia_tf.attacks import source as source_lib
from fia_tf.zoo import checkpoint
from fia_tf.zoo import registry
from fia_tf.zoo import testing

from tests.helpers.golden import golden_npz
from tests.helpers.zoo import tiny_spec
from tests.helpers.zoo import write_tiny_checkpoint


def test_the_14_paper_models_are_registered():
  assert len(registry.PAPER_MODELS) == 14
  for name in registry.PAPER_MODELS:
    assert registry.get_spec(name).name == name


def test_unknown_name_lists_known_ones():
  with pytest.raises(KeyError) as e:
    registry.get_spec('inception_v5')
  message = str(e.value)
  assert 'inception_v5' in message
  for name in registry.PAPER_MODELS:
    assert name in message
  assert 'did you mean' in message


@pytest.mark.parametrize('name,offset,classes,size', [
    ('vgg_16', -1, 1000, 224), ('vgg_19', -1, 1000, 224),
    ('resnet_v1_50', -1, 1000, 224), ('resnet_v1_152', -1, 1000, 224),
    ('resnet_v2_50', 0, 1001, 299), ('resnet_v2_152', 0, 1001, 299),
    ('inception_v3', 0, 1001, 299), ('inception_v4', 0, 1001, 299),
    ('inception_resnet_v2', 0, 1001, 299), ('adv_inception_v3', 0, 1001, 299),
    ('ens_adv_inception_resnet_v2', 0, 1001, 299),
])
def test_label_offsets_and_sizes(name, offset, classes, size):
  spec = registry.get_spec(name)
  assert (spec.label_offset, spec.num_classes, spec.input_size) == (
      offset, classes, size)
  assert spec.num_classes - 1001 == spec.label_offset


@pytest.mark.parametrize('name', ['vgg_16', 'resnet_v1_50', 'resnet_v2_152',
                                  'inception_v3'])
def test_label_offset_matches_golden(name):
  golden = golden_npz(name)
  spec = registry.get_spec(name)
  np.testing.assert_array_equal(spec.model_labels(golden['labels_1001']),
                                golden['labels_used'])


@pytest.mark.parametrize('name', ['vgg_16', 'inception_v3'])
def test_preprocess_inverse(name):
  spec = registry.get_spec(name)
  pixels = tf.constant(np.random.default_rng(0).uniform(
      0, 255, (2, 5, 5, 3)).astype(np.float32))
  x = spec.preprocess(pixels)
  assert x.dtype == tf.float32
  np.testing.assert_allclose(spec.deprocess(x).numpy(), pixels.numpy(),
                             atol=1e-4)
  # One pixel level in input units.
  step = spec.preprocess(pixels + 1.0) - x
  np.testing.assert_allclose(step.numpy(), spec.input_units_per_pixel,
                             rtol=1e-3)


def test_preprocess_values():
  px = tf.constant([[[[0.0, 127.5, 255.0]]]])
  np.testing.assert_allclose(
      registry.get_spec('inception_v3').preprocess(px).numpy().ravel(),
      [-1.0, 0.0, 1.0])
  np.testing.assert_allclose(
      registry.get_spec('vgg_16').preprocess(px).numpy().ravel(),
      [-123.68, 127.5 - 116.78, 255.0 - 103.94], rtol=1e-6)


def test_preprocess_is_differentiable():
  px = tf.Variable(tf.fill([1, 2, 2, 3], 100.0))
  with tf.GradientTape() as tape:
    y = tf.reduce_sum(registry.get_spec('inception_v3').preprocess(px))
  np.testing.assert_allclose(tape.gradient(y, px).numpy(), 2.0 / 255.0,
                             rtol=1e-6)


@pytest.mark.parametrize('net,name,expected', [
    ('vgg_16', 'vgg_16/conv3/conv3_3/Relu', 'vgg_16.conv3.conv3_3.Relu'),
    ('vgg_16', 'vgg_16/conv3/conv3_3/Relu:0', 'vgg_16.conv3.conv3_3.Relu'),
    ('vgg_16', 'vgg_16/conv3/conv3_3', 'vgg_16.conv3.conv3_3.Relu'),
    ('vgg_16', 'vgg_16/conv3/conv3_3/BiasAdd', 'vgg_16.conv3.conv3_3'),
    ('vgg_16', 'vgg_16/pool3/MaxPool', 'vgg_16.pool3'),
    ('vgg_16', 'vgg_16/fc8', 'vgg_16.fc8.squeezed'),
    ('vgg_16', 'vgg_16.conv3.conv3_3.Relu', 'vgg_16.conv3.conv3_3.Relu'),
    ('resnet_v1_152', 'resnet_v1_152/block2/unit_8/bottleneck_v1/add',
     'resnet_v1_152.block2.unit_8.bottleneck_v1.add'),
    ('resnet_v1_50', 'resnet_v1_50/block2',
     'resnet_v1_50.block2.unit_4.bottleneck_v1.Relu'),
    ('resnet_v1_50',
     'resnet_v1_50/block1/unit_1/bottleneck_v1/conv3/BatchNorm/'
     'FusedBatchNormV3', 'resnet_v1_50.block1.unit_1.bottleneck_v1.conv3.'
     'BatchNorm'),
    ('resnet_v2_50', 'resnet_v2_50/block2/unit_4/bottleneck_v2/add',
     'resnet_v2_50.block2.unit_4.bottleneck_v2.add'),
    ('inception_v3', 'InceptionV3/InceptionV3/Mixed_5b/concat',
     'InceptionV3.Mixed_5b.concat'),
    ('inception_v3', 'Mixed_5b', 'InceptionV3.Mixed_5b.concat'),
    ('ens3_adv_inception_v3', 'InceptionV3/InceptionV3/Mixed_5b/concat',
     'InceptionV3.Mixed_5b.concat'),
])
def test_resolve_layer(net, name, expected):
  assert registry.resolve_layer(net, name) == expected


def test_resolve_layer_unknown_with_layer_names():
  names = {'vgg_16.conv3.conv3_3.Relu'}
  assert registry.resolve_layer('vgg_16', 'vgg_16/conv3/conv9/Relu',
                                names) is None
  assert registry.resolve_layer('vgg_16', 'nonsense', names) is None
  assert registry.resolve_layer('vgg_16', 'vgg_16/conv3/conv3_3/Relu',
                                names) == 'vgg_16.conv3.conv3_3.Relu'


@pytest.mark.parametrize('name', ['vgg_16', 'resnet_v1_50', 'resnet_v2_50'])
def test_default_layers_and_end_points_exist(name):
  spec = registry.get_spec(name)
  model = spec.build()
  layer_names = {layer.name for layer in model.layers}
  assert spec.resolve_layer(spec.default_layer, layer_names) in layer_names
  assert set(spec.end_points().values()) <= layer_names
  assert model.outputs[0].shape[-1] == spec.num_classes


def test_manifest_json_matches_registry():
  from fia_tf.zoo import download  # pylint: disable=import-outside-toplevel
  with open(download.MANIFEST) as f:
    manifest = json.load(f)['models']
  assert sorted(manifest) == registry.names_list()
  for name, entry in manifest.items():
    spec = registry.get_spec(name)
    assert entry['url'] == spec.url
    assert entry['url'].startswith('http://download.tensorflow.org/models/')
    assert entry['tarball'] == spec.tarball
    assert entry['checkpoint'] == spec.checkpoint
    assert entry['scope'] == spec.scope
    assert entry['label_offset'] == spec.label_offset
    assert entry['default_layer'] == spec.default_layer


def test_missing_checkpoint_is_one_clear_sentence(tmp_path):
  with pytest.raises(registry.CheckpointNotFoundError) as e:
    registry.get_spec('ens3_adv_inception_v3').source_model(
        checkpoint_dir=tmp_path)
  message = str(e.value)
  assert 'ens3_adv_inception_v3_2017_08_18.tar.gz' in message
  assert str(tmp_path / 'ens3_adv_inception_v3') in message
  assert 'make checkpoints' in message
  assert message.count('\n') == 0


@pytest.mark.parametrize('renamed', [False, True])
def test_source_model_loads_checkpoint(tmp_path, renamed):
  spec = tiny_spec()
  values = write_tiny_checkpoint(spec, tmp_path, renamed)
  src = spec.source_model(checkpoint_dir=tmp_path)
  assert isinstance(src, source_lib.SourceModel)
  assert src.feature_layer == 'tiny_net.block.Relu'
  assert src.layer('tiny_net/block/Relu').name == 'tiny_net.block.Relu'
  assert src.layer('tiny_net/conv1').name == 'tiny_net.conv1.Relu'
  kernel = src.model.get_layer('tiny_net.logits').kernel.numpy()
  key = ('AdvTinyNet' if renamed else 'tiny_net') + '/logits/weights'
  np.testing.assert_array_equal(kernel, values[key])
  assert src.num_classes == 10 and src.input_size == (16, 16)


def test_source_model_bad_feature_layer(tmp_path):
  spec = tiny_spec()
  with pytest.raises(ValueError, match='unknown layer'):
    spec.source_model(feature_layer='tiny_net/conv7/Relu',
                      load_weights=False)


def test_replace_keeps_spec_frozen():
  spec = registry.get_spec('vgg_16')
  with pytest.raises(dataclasses.FrozenInstanceError):
    spec.name = 'x'
