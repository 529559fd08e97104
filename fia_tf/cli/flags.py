"""The flags every binary spells the same way, and their conversions.

A binary asks for the shared flags it takes with :func:`define`; each is
defined in the binary's own module, so ``run.json`` records it with the
binary's other flags. One spelling per concept: ``--output_dir``,
``--max_images``, ``--max_pixels``, ``--memory_budget_mib`` (a float), ``--strategy`` and
``--cpu_devices``, ``--seed``, ``--checkpoint_dir``, ``--model_module``,
``--progress_every``, ``--xla``, ``--option`` (part options, see
:func:`part_options`).
"""

import sys

from absl import flags

from fia_tf import distribute
from fia_tf.data import images
from fia_tf.zoo import plugins

STRATEGY_HELP = (
    'Where the work runs: default (one device), mirrored (all GPUs of this '
    'host, or the logical CPUs of --cpu_devices), multi_worker (all hosts of '
    '$TF_CONFIG; outputs on a shared file system). Results are byte-identical '
    'to one device.')
CPU_DEVICES_HELP = ('Split the CPU into this many logical devices (0: no '
                    'split); with --strategy=mirrored, one replica each.')

# name -> (DEFINE function, default, help, extra keyword arguments)
_SHARED = {
    'output_dir': (flags.DEFINE_string, None, 'Output directory.', {}),
    'max_images': (flags.DEFINE_integer, 0,
                   'Only the first N images in id order (0: all; negative '
                   'values are refused).', {'lower_bound': 0}),
    'max_pixels': (
        flags.DEFINE_integer, images.DEFAULT_MAX_PIXELS,
        'Largest width x height of an input image read (0: no limit); '
        'larger images are skipped by name, checked on the file header '
        'before decoding.', {'lower_bound': 0}),
    'memory_budget_mib': (
        flags.DEFINE_float, None,
        'Activation memory per replica for the copies an objective '
        'aggregates (FIA\'s masked copies), MiB (default: from the device '
        'memory). Changes speed and peak memory, never the result.',
        {'lower_bound': 1.0}),
    'strategy': (flags.DEFINE_enum, 'default', STRATEGY_HELP,
                 {'enum_values': list(distribute.STRATEGIES)}),
    'cpu_devices': (flags.DEFINE_integer, 0, CPU_DEVICES_HELP,
                    {'lower_bound': 0}),
    'seed': (flags.DEFINE_integer, 0, "Seed of all randomness; each image's "
             'draws are keyed by its id.', {'lower_bound': 0}),
    'checkpoint_dir': (
        flags.DEFINE_string, None, 'Checkpoint root (default: '
        '$FIA_TF_CHECKPOINTS, else checkpoints/ in the working directory).',
        {}),
    'model_module': (
        flags.DEFINE_list, [], 'Modules (dotted or .py path) registering '
        'extra models, e.g. fia_tf.zoo.tiny; also $FIA_TF_MODEL_MODULES.',
        {}),
    'progress_every': (flags.DEFINE_float, 10.0,
                       'Seconds between progress lines.',
                       {'lower_bound': 0.0}),
    'xla': (flags.DEFINE_enum, 'auto', 'XLA compilation (auto: on with a '
            'GPU, where it pays; off on CPUs, where it measured slower).',
            {'enum_values': ['auto', 'on', 'off']}),
    'option': (
        flags.DEFINE_multi_string, [],
        "A setting of the method's parts, NAME=VALUE, repeatable: e.g. "
        '--option=bfa_eta=21 --option=naa_gamma=0.5 --option=rpa_masks=patch. '
        'An unknown name is refused with the list of the method\'s options '
        '(fia_tf.attacks.parts: each part lists its own).', {}),
}
NAMES = tuple(_SHARED)

# AttackConfig field -> the flag of experiments/attack.py (the original's
# names) that sets it, so that an error names what the user typed
# (errors.flag_names).
ATTACK_FLAGS = {
    'method': 'attack_method', 'eps': 'max_epsilon', 'alpha': 'alpha',
    'num_iter': 'num_iter', 'momentum': 'momentum', 'ens': 'ens',
    'keep_prob': 'probb', 'image_resize': 'image_resize', 'di_prob': 'prob',
    'tkern_size': 'Tkern_size',
    'amplification_factor': 'amplification_factor', 'gamma': 'gamma',
    'pkern_size': 'Pkern_size', 'seed': 'seed', 'micro_batch': 'batch_size',
    'memory_budget': 'memory_budget_mib'}


def define(*names, **defaults):
  """Defines shared flags in the calling binary's module.

  Args:
    *names: flag names from :data:`NAMES`.
    **defaults: ``name=(default[, help])`` overriding a flag's default (and
      help text).

  Returns:
    ``{name: FlagHolder}``.
  """
  module = sys._getframe(1).f_globals['__name__']  # pylint: disable=protected-access
  if module == '__main__':
    # absl files the main module's flags under the script's path.
    module = sys.argv[0]
  out = {}
  for name in names:
    define_fn, default, help_text, extra = _SHARED[name]
    if name in defaults:
      value = defaults[name]
      if isinstance(value, tuple):
        default, help_text = value
      else:
        default = value
    extra = dict(extra)
    if 'enum_values' in extra:
      out[name] = define_fn(name, default, extra.pop('enum_values'),
                            help_text, module_name=module, **extra)
    else:
      out[name] = define_fn(name, default, help_text, module_name=module,
                            **extra)
  return out


def _option_value(text):
  """``'21'`` -> 21, ``'0.5'`` / ``'1e-3'`` -> float, ``'true'`` -> True,
  anything else the string itself."""
  for kind in (int, float):
    try:
      return kind(text)
    except ValueError:
      pass
  return {'true': True, 'false': False}.get(text.lower(), text)


def part_options(values):
  """``{name: value}`` of ``--option=NAME=VALUE`` flags.

  Raises:
    ValueError: a value without ``=`` or a name, or a name given twice.
  """
  options = {}
  for item in values:
    name, sep, text = item.partition('=')
    name = name.strip()
    if not sep or not name:
      raise ValueError(f'--option must be NAME=VALUE, got {item!r}')
    if name in options:
      raise ValueError(f'--option {name} is given twice')
    options[name] = _option_value(text.strip())
  return options


def option_flags(options):
  """``{option name: 'option NAME'}``: for :func:`fia_tf.cli.flag_names`,
  so a bad value reads ``--option bfa_eta must be >= 0.0, got -1``."""
  return {name: f'option {name}' for name in options}


def load_model_modules(refs):
  """Imports ``--model_module`` values plus ``$FIA_TF_MODEL_MODULES``."""
  return plugins.import_model_modules(list(refs or []) +
                                      plugins.modules_from_env())


def xla_setting(value):
  """``'auto'``/``'on'``/``'off'`` -> ``None``/``True``/``False``."""
  return {'auto': None, 'on': True, 'off': False}[value]


def strategy(kind, cpu_devices=0):
  """The strategy of the ``--strategy`` / ``--cpu_devices`` flag values.

  Returns ``None`` for ``'default'`` (the engine then runs unsharded).
  """
  if cpu_devices:
    distribute.split_cpu(cpu_devices)
  if kind == 'default':
    return None
  return distribute.make_strategy(kind)


def memory_budget(mib):
  """``--memory_budget_mib`` -> bytes (``None``: the device's default)."""
  if mib is None:
    return None
  if mib <= 0:
    raise ValueError(f'--memory_budget_mib must be > 0, got {mib}')
  return int(mib * 2**20)


def key_flags():
  """``{name: value}`` of the flags the binary defined (for run records)."""
  return {f.name: f.value
          for f in flags.FLAGS.get_key_flags_for_module(sys.argv[0])}


def start(argv, shared):
  """What every binary's ``main`` does first.

  Refuses positional arguments, imports the ``--model_module`` plugins and
  makes the ``--strategy`` (when the binary defines those flags).

  Args:
    argv: ``main``'s argument list.
    shared: the binary's :func:`define` result.

  Returns:
    The :class:`tf.distribute.Strategy`, or ``None`` (one device).
  """
  if len(argv) > 1:
    raise ValueError(f'unexpected arguments: {argv[1:]}')
  made = None
  if 'strategy' in shared:
    made = strategy(shared['strategy'].value,
                    shared['cpu_devices'].value if 'cpu_devices' in shared
                    else 0)
  if 'model_module' in shared:
    load_model_modules(shared['model_module'].value)
  return made
