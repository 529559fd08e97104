"""The paper's grid: attack every (source, method), evaluate, tabulate.

A grid is described by a JSON file (the repository's
``experiments/configs/paper.json`` is the paper's grid, ``dry_run.json`` the
same path on the tiny zoo):

.. code-block:: json

  {
    "name": "paper",
    "input_dir": "dataset/images",   // relative paths: to "root"
    "labels": null,                  // default: found next to the images
    "attack": {"eps": 16, "alpha": 1.6, ...},   // AttackConfig fields
    "keep_prob": {"normal": 0.7, "defended": 0.9},
    "sources": [{"model": "vgg_16", "layer": "vgg_16/conv3/conv3_3/Relu",
                 "attack": {}}],     // per-source AttackConfig overrides
    "methods": ["MIM", "FIA", ...],
    "method_settings": {"BFA": {"options": {"bfa_eta": 28}}},
                                     // per-method AttackConfig overrides
    "targets": {"normal": [...], "defended": [...]},  // names may carry
                                     // defences: "vgg_16+jpeg75", "x+rp"
    "attack_batch_size": 10, "eval_batch_size": 50,
    "model_modules": [],             // plugins registering extra models
    "tiny_checkpoints": false,       // write tiny-zoo checkpoints first
    "root": null                     // base of relative paths
  }

A target name may put the model behind input-transformation defences,
``<model>+<defence>`` (:mod:`fia_tf.evaluation.defences`); the model's
checkpoint is then the only one needed.

Relative paths are resolved against ``root``: the config's own key, else
the ``root`` argument of :func:`load` (the binary passes the repository),
else the working directory. Sets, keep probabilities and the order in
which ``attack``, ``method_settings`` and a source's ``attack`` override
one another follow :func:`fia_tf.evaluation.plan_sets`.

:func:`run` is resumable at every level: finished attack sets are not
rerun, partial ones resume per batch (:mod:`fia_tf.runs.directory`), and
predictions are cached per file (:mod:`fia_tf.evaluation.predictions`).
"""

import contextlib
import dataclasses
import json
import pathlib
import time
from typing import Dict, List, Optional

from absl import logging

import fia_tf
from fia_tf import distribute
from fia_tf import records
from fia_tf.data import files
from fia_tf.data import images as images_lib
from fia_tf.evaluation import defences
from fia_tf.evaluation import inputs as inputs_lib
from fia_tf.evaluation import tables
from fia_tf.evaluation import targets as targets_lib
from fia_tf.evaluation import transfer
from fia_tf.runs import directory as directory_lib
from fia_tf.runs import guards
from fia_tf.zoo import plugins
from fia_tf.zoo import registry

GROUPS = transfer.GROUPS
RECORD_FILE = 'reproduce.json'
_KEYS = {'name', 'description', 'input_dir', 'labels', 'attack', 'keep_prob',
         'sources', 'methods', 'targets', 'attack_batch_size',
         'eval_batch_size', 'model_modules', 'tiny_checkpoints', 'root',
         'method_settings'}
# The tables a grid writes: metric -> file stem.
TABLES = {'success_changed': 'table_changed', 'success_wrong': 'table_wrong',
          'success_correct': 'table_correct'}


class ConfigError(ValueError):
  """A grid config that cannot be used; names the file and the key."""


@dataclasses.dataclass(frozen=True)
class Source:
  model: str
  layer: Optional[str]
  attack: dict


@dataclasses.dataclass
class Grid:
  """A loaded, validated grid config."""
  path: pathlib.Path
  name: str
  description: str
  root: pathlib.Path
  input_dir: pathlib.Path
  labels: Optional[pathlib.Path]
  sources: List[Source]
  methods: List[str]
  targets: Dict[str, List[str]]
  keep_prob: Dict[str, float]
  attack: dict
  attack_batch_size: int
  eval_batch_size: int
  model_modules: List[str]
  tiny_checkpoints: bool
  raw: dict
  method_settings: Dict[str, dict] = dataclasses.field(default_factory=dict)

  @property
  def all_targets(self):
    return [t for g in GROUPS for t in self.targets.get(g, [])]

  def group_of(self, target):
    for group in GROUPS:
      if target in self.targets.get(group, []):
        return group
    raise KeyError(target)

  def attack_sets(self, jit_compile=None) -> List[transfer.AttackSet]:
    """Every adversarial set of the grid, in table order."""
    settings = dict(self.attack)
    settings.setdefault('micro_batch', self.attack_batch_size)
    if jit_compile is not None:
      settings['jit_compile'] = jit_compile

    def error(message):
      return ConfigError(f'{self.path}: {message}')
    return transfer.plan_sets(
        [s.model for s in self.sources], self.methods, settings,
        groups=tuple(g for g in GROUPS if self.targets.get(g)),
        keep_prob=self.keep_prob,
        source_settings={s.model: s.attack for s in self.sources},
        layers={s.model: s.layer for s in self.sources},
        method_settings=self.method_settings, config_error=error)


# fia_tf 0.1 name of Grid.
Benchmark = Grid


def config_path(name_or_path, config_dir=None):
  """A config file from a path, or a name in ``config_dir``."""
  path = pathlib.Path(name_or_path)
  if path.suffix != '.json' and not path.exists() and config_dir:
    path = pathlib.Path(config_dir) / f'{name_or_path}.json'
  return path


def load(path, overrides=None, root=None, config_dir=None) -> Grid:
  """Reads and validates a grid config.

  Args:
    path: the JSON file (or a name in ``config_dir``).
    overrides: top-level keys replacing the file's (from flags).
    root: base of relative paths when the config has no ``root``
      (default: the working directory).
    config_dir: where config names are looked up.

  Raises:
    ConfigError: naming the file and the bad key or value.
  """
  path = config_path(path, config_dir)
  try:
    raw = json.loads(path.read_text(encoding='utf-8'))
  except FileNotFoundError:
    raise ConfigError(f'grid config {str(path)!r} does not exist') from None
  except json.JSONDecodeError as e:
    raise ConfigError(f'{path}: not valid JSON ({e})') from None
  if not isinstance(raw, dict):
    raise ConfigError(f'{path}: the top level must be an object')
  raw.update({k: v for k, v in (overrides or {}).items() if v is not None})
  unknown = sorted(set(raw) - _KEYS)
  if unknown:
    raise ConfigError(f'{path}: unknown key(s) {unknown}; known: '
                      f'{sorted(_KEYS)}')
  for key in ('sources', 'methods', 'targets', 'input_dir'):
    if not raw.get(key):
      raise ConfigError(f'{path}: {key!r} is missing or empty')
  base = pathlib.Path(raw.get('root') or root or pathlib.Path.cwd())

  def resolve(value):
    if value is None:
      return None
    value = pathlib.Path(value).expanduser()
    return value if value.is_absolute() else base / value

  sources = []
  for i, item in enumerate(raw['sources']):
    if isinstance(item, str):
      item = {'model': item}
    if not isinstance(item, dict) or 'model' not in item:
      raise ConfigError(f'{path}: sources[{i}] needs a "model"')
    extra = set(item) - {'model', 'layer', 'attack'}
    if extra:
      raise ConfigError(f'{path}: sources[{i}] has unknown keys '
                        f'{sorted(extra)}')
    sources.append(Source(item['model'], item.get('layer'),
                          dict(item.get('attack') or {})))
  targets = raw['targets']
  if isinstance(targets, list):
    targets = {'normal': targets}
  if not isinstance(targets, dict) or set(targets) - set(GROUPS):
    raise ConfigError(f'{path}: "targets" must map {list(GROUPS)} to lists '
                      'of model names')
  keep_prob = dict(transfer.DEFAULT_KEEP_PROB)
  keep_prob.update(raw.get('keep_prob') or {})
  if set(keep_prob) - set(GROUPS):
    raise ConfigError(f'{path}: "keep_prob" keys must be {list(GROUPS)}')
  method_settings = raw.get('method_settings') or {}
  if not isinstance(method_settings, dict):
    raise ConfigError(f'{path}: "method_settings" must map method strings '
                      f'to AttackConfig fields, got {method_settings!r}')
  attack = dict(raw.get('attack') or {})
  for key in ('method', 'keep_prob'):
    if key in attack:
      raise ConfigError(f'{path}: set {key!r} with "methods"/"keep_prob", '
                        'not inside "attack"')
  grid = Grid(
      path=path, name=raw.get('name') or path.stem,
      description=raw.get('description', ''), root=base,
      input_dir=resolve(raw['input_dir']), labels=resolve(raw.get('labels')),
      sources=sources, methods=list(raw['methods']),
      targets={g: list(v) for g, v in targets.items()}, keep_prob=keep_prob,
      attack=attack,
      attack_batch_size=int(raw.get('attack_batch_size', 10)),
      eval_batch_size=int(raw.get('eval_batch_size', 50)),
      model_modules=list(raw.get('model_modules') or []),
      tiny_checkpoints=bool(raw.get('tiny_checkpoints', False)), raw=raw,
      method_settings={m: dict(v) if isinstance(v, dict) else v
                       for m, v in method_settings.items()})
  for key in ('attack_batch_size', 'eval_batch_size'):
    if getattr(grid, key) < 1:
      raise ConfigError(f'{path}: {key} must be >= 1')
  plugins.import_model_modules(grid.model_modules)
  for name in grid.all_targets:
    try:
      defences.check(name)
    except ValueError as e:
      raise ConfigError(f'{path}: {e}') from None
  for name in [s.model for s in sources] + models_of(grid.all_targets):
    try:
      registry.get_spec(name)
    except KeyError as e:
      raise ConfigError(f'{path}: {e.args[0]}') from None
  grid.attack_sets()  # validates every method and setting
  return grid


def models_of(targets):
  """The registry models behind target names (defences stripped), in
  order, each once."""
  out = []
  for name in targets:
    model = defences.base_name(name)
    if model not in out:
      out.append(model)
  return out


def select(grid, sources=None, methods=None):
  """A copy of ``grid`` restricted to some sources and methods."""
  out = dataclasses.replace(grid)
  if sources:
    unknown = sorted(set(sources) - {s.model for s in grid.sources})
    if unknown:
      raise ConfigError(f'{grid.path}: no source(s) {unknown} in the grid; '
                        f'it has {[s.model for s in grid.sources]}')
    out.sources = [s for s in grid.sources if s.model in sources]
  if methods:
    unknown = sorted(set(methods) - set(grid.methods))
    if unknown:
      raise ConfigError(f'{grid.path}: no method(s) {unknown} in the grid; '
                        f'it has {grid.methods}')
    out.methods = [m for m in grid.methods if m in methods]
    out.method_settings = {m: v for m, v in grid.method_settings.items()
                           if m in methods}
  return out


def check_checkpoints(grid, checkpoint_dir=None):
  """Raises the zoo's CheckpointNotFoundError for the first missing model,
  before any work; returns the names of all models needed."""
  needed = []
  for name in [s.model for s in grid.sources] + models_of(grid.all_targets):
    if name not in needed:
      needed.append(name)
  for name in needed:
    registry.get_spec(name).find_checkpoint(checkpoint_dir)
  return needed


def _expected_record(attack_set, image_set):
  return {'config': attack_set.config.to_dict(),
          'images': len(image_set.entries),
          'input_dir': str(pathlib.Path(image_set.directory).resolve()),
          'labels': str(pathlib.Path(image_set.labels_path).resolve())}


def run_attacks(grid, image_set, output_dir, checkpoint_dir=None,
                jit_compile=None, progress_every=10.0, strategy=None,
                max_pixels=images_lib.DEFAULT_MAX_PIXELS):
  """Runs every attack set not already complete; returns ``{name: dir}``.

  Inputs over ``max_pixels`` (width x height; 0: no limit) are skipped by
  name (:func:`fia_tf.data.read_image`).

  Each source model is built and loaded once (in ``strategy``'s scope when
  given) for all of its methods.
  """
  dirs = {}
  by_source = {}
  for attack_set in grid.attack_sets(jit_compile):
    by_source.setdefault(attack_set.source, []).append(attack_set)
  for source_name, sets in by_source.items():
    todo = []
    for attack_set in sets:
      directory = output_dir / 'adv' / attack_set.name
      dirs[attack_set.name] = directory
      expected = _expected_record(attack_set, image_set)
      if directory_lib.is_complete(directory, expected):
        logging.info('%s: complete, skipped', attack_set.name)
      else:
        todo.append(attack_set)
    if not todo:
      continue
    spec = registry.get_spec(source_name)
    layer = todo[0].layer
    logging.info('loading source model %s', source_name)
    with (strategy.scope() if strategy is not None else
          contextlib.nullcontext()):
      source = spec.source_model(checkpoint_dir=checkpoint_dir,
                                 feature_layer=layer)
    checkpoint = spec.find_checkpoint(checkpoint_dir)[0]
    replicas = strategy.num_replicas_in_sync if strategy is not None else 1
    for attack_set in todo:
      attack = fia_tf.Attack(source, attack_set.config, strategy=strategy)
      directory_lib.attack_directory(
          attack, image_set, dirs[attack_set.name],
          batch_size=grid.attack_batch_size * replicas,
          label_offset=spec.label_offset,
          model_name=source_name, layer_name=layer or spec.default_layer,
          progress_every=progress_every, checkpoint=checkpoint,
          extra={'grid': grid.name, 'set': attack_set.name},
          max_pixels=max_pixels)
  return dirs


def grid_tables(grid, rows):
  """``{metric: Table}`` in the paper's layout (with control rows)."""
  return {metric: tables.transfer_table(
      rows, metric, sources=[s.model for s in grid.sources],
      methods=grid.methods, targets=grid.all_targets,
      groups={t: grid.group_of(t) for t in grid.all_targets},
      control=True) for metric in TABLES}


def write_results(grid, rows, image_set, output_dir, extra=None):
  """Writes evaluation rows, the tables and the run record, atomically."""
  output_dir = pathlib.Path(output_dir)
  files.atomic_write_json(output_dir / 'evaluation.json', {
      'grid': grid.name, 'images': len(image_set.entries), 'rows': rows})
  files.atomic_write_text(output_dir / 'evaluation.csv',
                          tables.rows_csv(rows))
  out = grid_tables(grid, rows)
  for metric, table in out.items():
    tables.write_table(table, output_dir, TABLES[metric])
  md = [f'# {grid.name}: transfer attack success', '',
        grid.description, '',
        f'{len(image_set.entries)} images from {image_set.directory}; '
        '`*` = white-box (source = target). "zero perturbation" rows: the '
        'clean images through the same resize/save path (resize-induced '
        'flips).', '']
  for table in out.values():
    md += [tables.to_markdown(table), '']
  md += ['## Per set and target', '', tables.rows_markdown(rows)]
  files.atomic_write_text(output_dir / 'results.md', '\n'.join(md))
  record = {'grid': grid.raw, 'config_file': str(grid.path),
            'images': len(image_set.entries), 'id_rule': image_set.id_rule,
            **records.provenance()}
  record.update(extra or {})
  files.atomic_write_json(output_dir / RECORD_FILE, record)
  return out


def run(grid, output_dir, checkpoint_dir=None, max_images=None,
        jit_compile=None, progress_every=10.0, evaluate=True, strategy=None,
        max_pixels=images_lib.DEFAULT_MAX_PIXELS):
  """The whole grid: checkpoints check, attacks, evaluation, tables.

  Args:
    grid: a :class:`Grid` (see :func:`load`).
    output_dir: results directory (``adv/``, ``predictions/``, tables).
    checkpoint_dir: checkpoint root; with ``grid.tiny_checkpoints`` the
      default is ``<output_dir>/checkpoints`` and the tiny checkpoints are
      written there first.
    max_images: use only the first images (a quick subset).
    jit_compile: XLA on/off for the attacks (``None``: engine default).
    progress_every: seconds between progress lines.
    evaluate: also evaluate and tabulate (else attacks only).
    strategy: optional :class:`tf.distribute.Strategy` for attacks and
      evaluation (:mod:`fia_tf.distribute`); results are byte-identical to
      one device.
    max_pixels: largest width x height of an image read (0: no limit);
      larger ones are skipped by name.

  Returns:
    The tables (``{metric: Table}``) or ``None``.

  Raises:
    CheckpointNotFoundError: before any work, for the first missing model.
    fia_tf.data.DataError: for unusable images or labels, before any work.
    guards.OverlapError: before any work, when ``output_dir`` is, is inside
      or contains the grid's input directory.
    guards.OutputLockedError: when another run writes ``output_dir``.
    guards.NonFiniteError, fia_tf.data.files.DiskFullError: from the
      attacks (:func:`fia_tf.runs.attack_directory`) or the writes.
  """
  output_dir = pathlib.Path(output_dir)
  guards.check_output_dir(output_dir, {'grid input directory':
                                       grid.input_dir})
  if max_images is not None and max_images < 0:
    raise ValueError(f'max_images must be >= 0 (0 or None: all), got '
                     f'{max_images}')
  start = time.monotonic()
  if grid.tiny_checkpoints:
    from fia_tf.zoo import tiny  # pylint: disable=import-outside-toplevel
    checkpoint_dir = checkpoint_dir or output_dir / 'checkpoints'
    wanted = {s.model for s in grid.sources} | set(
        models_of(grid.all_targets))
    tiny.write_tiny_checkpoints(
        checkpoint_dir, names=[n for n in tiny.TINY_MODELS if n in wanted])
  check_checkpoints(grid, checkpoint_dir)
  image_set = images_lib.subset(
      images_lib.image_set(grid.input_dir, grid.labels), max_images)
  logging.info('%d images from %s (%s)', len(image_set),
               image_set.directory, image_set.id_rule)
  # Locked after the cheap checks, so a refused run creates nothing.
  with (guards.output_lock(output_dir) if distribute.is_chief(strategy)
        else contextlib.nullcontext()):
    return _run_locked(grid, image_set, output_dir, checkpoint_dir,
                       jit_compile, progress_every, evaluate, strategy, start,
                       max_images, max_pixels)


def _run_locked(grid, image_set, output_dir, checkpoint_dir, jit_compile,
                progress_every, evaluate, strategy, start, max_images,
                max_pixels):
  """:func:`run` once the inputs are checked and the output is locked."""
  dirs = run_attacks(grid, image_set, output_dir, checkpoint_dir,
                     jit_compile, progress_every, strategy, max_pixels)
  if not evaluate:
    return None
  sets = grid.attack_sets()
  targets = [targets_lib.as_target(name, checkpoint_dir=checkpoint_dir,
                                   strategy=strategy,
                                   batch_size=grid.eval_batch_size)
             for name in grid.all_targets]
  targets_by_group = {g: [t for t in targets if grid.group_of(t.name) == g]
                      for g in GROUPS}
  inputs = inputs_lib.DirectoryInputs(
      image_set, dirs, batch_size=grid.eval_batch_size,
      cache_dir=output_dir / 'predictions', max_pixels=max_pixels)
  rows = transfer.evaluate(inputs, targets,
                           transfer.targets_of(sets, targets_by_group),
                           progress_every=progress_every)
  transfer.annotate(rows, sets, {t: grid.group_of(t)
                                 for t in grid.all_targets})
  if not distribute.is_chief(strategy):
    return grid_tables(grid, rows)
  out = write_results(grid, rows, image_set, output_dir, extra={
      'seconds': round(time.monotonic() - start, 1),
      'max_images': max_images})
  logging.info('results in %s (results.md, table_changed.md/.csv/.png)',
               output_dir)
  return out
