"""Craft adversarial images for a directory (the original ``attack.py``).

The original's flags, names and defaults, except where they were traps:
``--image_size`` defaults to the source model's input size (the original's
224 broke every Inception run), ``--layer_name`` to the model's FIA layer
(the original's default was VGG-16's whatever the model), and
``--image_resize`` to 250 for 224 inputs / 330 for 299 inputs.

  python experiments/attack.py --model_name=vgg_16 --attack_method=FIA \
      --input_dir=dataset/images --output_dir=adv/vgg_16/FIA

Writes ``<output_dir>/<stem>.png`` per readable input (uint8, rounded) and
``run.json`` (resolved configuration, versions, seed, skipped files). A run
started again with the same flags resumes where it stopped and ends with
byte-identical files. Exit status: 0 done, 1 run failed (NaN/inf from
the model, full disk, output directory in use), 2 bad input, 3 checkpoint
problem, 130 interrupted.
"""

import contextlib
import os
import pathlib

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

from absl import flags  # pylint: disable=g-import-not-at-top,wrong-import-position
from absl import logging

import fia_tf
from fia_tf import cli
from fia_tf import data
from fia_tf import runs
from fia_tf.zoo import registry

_D = fia_tf.AttackConfig()

# -- the original's flags --------------------------------------------------------
_MODEL = flags.DEFINE_string('model_name', 'vgg_16',
                             'Source model (a registry name).')
_METHOD = flags.DEFINE_string(
    'attack_method', 'FIA', 'Attack: MIM, DIM, TIM, PIM, TIDIM, PIDIM, NRDM, '
    'FDA, FIA, FIAPI, FIA+PIDIM, ... (see fia_tf.parse_method).')
_LAYER = flags.DEFINE_string(
    'layer_name', None, 'Feature layer of FIA/NRDM/FDA as a slim op name, '
    'end point or Keras layer name (default: the model\'s FIA layer).')
_INPUT_DIR = flags.DEFINE_string('input_dir', './dataset/images/',
                                 'Directory of clean images.')
_EPS = flags.DEFINE_float('max_epsilon', _D.eps,
                          'L-inf budget in pixel levels (0..255).')
_NUM_ITER = flags.DEFINE_integer('num_iter', _D.num_iter, 'Iterations.')
_ALPHA = flags.DEFINE_float('alpha', _D.alpha, 'Step size in pixel levels.')
_BATCH = flags.DEFINE_integer(
    'batch_size', 20, 'Images per attack step and replica (a step of N '
    'replicas attacks N x batch_size). Results do not depend on the number '
    'of replicas.')
_MOMENTUM = flags.DEFINE_float('momentum', _D.momentum, 'Momentum decay.')
_IMAGE_SIZE = flags.DEFINE_integer(
    'image_size', None, 'Attack resolution; must equal the model input size '
    '(default: that size, e.g. 224 for VGG, 299 for Inception).')
_IMAGE_RESIZE = flags.DEFINE_integer(
    'image_resize', None, 'DI padded size (default: 250 for 224 inputs, 330 '
    'for 299 inputs).')
_PROB = flags.DEFINE_float('prob', _D.di_prob, 'DI probability.')
_TKERN = flags.DEFINE_integer('Tkern_size', _D.tkern_size,
                              'TI Gaussian kernel size.')
_AMP = flags.DEFINE_float('amplification_factor', _D.amplification_factor,
                          'PI step amplification.')
_GAMMA = flags.DEFINE_float('gamma', _D.gamma, 'PI projection factor.')
_PKERN = flags.DEFINE_integer('Pkern_size', _D.pkern_size,
                              'PI projection kernel size (odd).')
_ENS = flags.DEFINE_integer('ens', _D.ens,
                            'FIA: number N of random-mask copies.')
_PROBB = flags.DEFINE_float(
    'probb', 0.9, 'FIA: keep probability (1 - drop probability). The '
    'original default 0.9; the paper uses 0.7 against normal and 0.9 '
    'against defended targets.')

# -- ours ------------------------------------------------------------------------
_LABELS = flags.DEFINE_string(
    'labels', None, 'labels.txt (line k = label of k.png) or '
    'dev_dataset.csv (default: found in input_dir or its parent).')
_OVERWRITE = flags.DEFINE_bool(
    'overwrite', False, 'Recompute all outputs, replacing a run of other '
    'settings in output_dir.')
_SHARED = cli.flags.define(
    'output_dir', 'seed', 'xla', 'checkpoint_dir', 'model_module',
    'max_images', 'max_pixels', 'progress_every', 'strategy', 'cpu_devices',
    'memory_budget_mib', 'option',
    output_dir=(None, 'Output directory (default: ./adv/<model>/<method>).'))


def attack_config():
  """The AttackConfig of the flags (ValueError names the bad flag)."""
  options = cli.flags.part_options(_SHARED['option'].value)
  with cli.flag_names({**cli.flags.ATTACK_FLAGS,
                       **cli.flags.option_flags(options)}):
    return _attack_config(options)


def _attack_config(options):
  return fia_tf.AttackConfig(
      options=options,
      method=_METHOD.value, eps=_EPS.value, alpha=_ALPHA.value,
      num_iter=_NUM_ITER.value, momentum=_MOMENTUM.value, ens=_ENS.value,
      keep_prob=_PROBB.value, image_resize=_IMAGE_RESIZE.value,
      di_prob=_PROB.value, tkern_size=_TKERN.value,
      amplification_factor=_AMP.value, gamma=_GAMMA.value,
      pkern_size=_PKERN.value, seed=_SHARED['seed'].value,
      jit_compile=cli.xla_setting(_SHARED['xla'].value),
      micro_batch=_BATCH.value,
      memory_budget=cli.memory_budget(_SHARED['memory_budget_mib'].value))


def main(argv):
  strategy = cli.flags.start(argv, _SHARED)
  spec = registry.get_spec(_MODEL.value)
  if _IMAGE_SIZE.value is not None and _IMAGE_SIZE.value != spec.input_size:
    raise ValueError(
        f'image_size {_IMAGE_SIZE.value} does not fit {spec.name}, whose '
        f'input is {spec.input_size}x{spec.input_size}; omit --image_size '
        '(images are resized to the model\'s size)')
  if _BATCH.value < 1:
    raise ValueError(f'--batch_size must be >= 1, got {_BATCH.value}')
  config = attack_config()
  output_dir = pathlib.Path(
      _SHARED['output_dir'].value or f'adv/{spec.name}/{_METHOD.value}')
  # Cheap checks first: data and checkpoint, before building the net.
  image_set = data.subset(data.image_set(_INPUT_DIR.value, _LABELS.value),
                          _SHARED['max_images'].value)
  runs.guards.check_output_dir(output_dir, {'input directory (--input_dir)':
                                            image_set.directory})
  logging.info('%d images in %s; labels %s (%s)', len(image_set),
               image_set.directory, image_set.labels_path, image_set.id_rule)
  with strategy.scope() if strategy else contextlib.nullcontext():
    source = spec.source_model(checkpoint_dir=_SHARED['checkpoint_dir'].value,
                               feature_layer=_LAYER.value)
  with cli.flag_names({**cli.flags.ATTACK_FLAGS,
                       **cli.flags.option_flags(dict(config.options))}):
    attack = fia_tf.Attack(source, config, strategy=strategy)
  replicas = strategy.num_replicas_in_sync if strategy else 1
  summary = runs.attack_directory(
      attack, image_set, output_dir, batch_size=_BATCH.value * replicas,
      label_offset=spec.label_offset, model_name=spec.name,
      layer_name=_LAYER.value or spec.default_layer,
      overwrite=_OVERWRITE.value,
      checkpoint=spec.find_checkpoint(_SHARED['checkpoint_dir'].value)[0],
      progress_every=_SHARED['progress_every'].value,
      extra={'flags': cli.flags.key_flags()},
      max_pixels=_SHARED['max_pixels'].value)
  print(f'{summary.written} written, {summary.resumed} already done, '
        f'{len(summary.skipped)} skipped -> {output_dir}')
  for name, reason in summary.skipped:
    print(f'  skipped {name}: {reason}')
  return 0


if __name__ == '__main__':
  cli.run(main)
