"""The paper's benchmark grid: attack every (source, method), evaluate, tabulate.

A benchmark is described by a JSON file (``experiments/configs/paper.json``
is the paper's grid; ``dry_run.json`` the same path on the tiny zoo):

.. code-block:: json

  {
    "name": "paper",
    "input_dir": "dataset/images",   // relative paths: to the repo root
    "labels": null,                  // default: found next to the images
    "attack": {"eps": 16, "alpha": 1.6, ...},   // AttackConfig fields
    "keep_prob": {"normal": 0.7, "defended": 0.9},
    "sources": [{"model": "vgg_16", "layer": "vgg_16/conv3/conv3_3/Relu",
                 "attack": {}}],     // per-source AttackConfig overrides
    "methods": ["MIM", "FIA", ...],
    "targets": {"normal": [...], "defended": [...]},
    "attack_batch_size": 10, "eval_batch_size": 50,
    "model_modules": [],             // plugins registering extra models
    "tiny_checkpoints": false        // write tiny-zoo checkpoints first
  }

FIA-objective methods give one adversarial set per distinct keep
probability (the paper drops 30% of pixels against normal and 10% against
defended targets); every other method gives one set evaluated on all
targets. The table takes each (source, method, target) cell from the set
made for the target's group.

:func:`run` is resumable at every level: finished attack sets are not
reloaded, partial ones resume per batch (:mod:`fia_tf.pipeline`), and
predictions are cached per file (:mod:`fia_tf.evaluation`).
"""

import contextlib
import dataclasses
import json
import pathlib
import time
from typing import Dict, List, Optional, Tuple

from absl import logging
import numpy as np

import fia_tf
from fia_tf import benchmark_table
from fia_tf import data
from fia_tf import distribute
from fia_tf import evaluation
from fia_tf import extra_models
from fia_tf import io
from fia_tf import methods as methods_lib
from fia_tf import pipeline
from fia_tf.zoo import registry

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
CONFIG_DIR = REPO_ROOT / 'experiments' / 'configs'
GROUPS = ('normal', 'defended')
_KEYS = {'name', 'description', 'input_dir', 'labels', 'attack', 'keep_prob',
         'sources', 'methods', 'targets', 'attack_batch_size',
         'eval_batch_size', 'model_modules', 'tiny_checkpoints', 'root'}


class ConfigError(ValueError):
  """A benchmark config that cannot be used; names the file and the key."""


@dataclasses.dataclass(frozen=True)
class Source:
  model: str
  layer: Optional[str]
  attack: dict


@dataclasses.dataclass(frozen=True)
class AttackSet:
  """One adversarial directory of the grid.

  Attributes:
    source: the source model name.
    method: the method as written in the config (table row label).
    name: ``<source>/<method>`` or ``<source>/<method>_p<keep_prob>``.
    config: its :class:`fia_tf.AttackConfig`.
    groups: the target groups it is evaluated on.
  """
  source: str
  method: str
  name: str
  config: fia_tf.AttackConfig
  groups: Tuple[str, ...]


@dataclasses.dataclass
class Benchmark:
  """A loaded, validated benchmark config."""
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

  @property
  def all_targets(self):
    return [t for g in GROUPS for t in self.targets.get(g, [])]

  def group_of(self, target):
    for group in GROUPS:
      if target in self.targets.get(group, []):
        return group
    raise KeyError(target)

  def attack_sets(self, jit_compile=None) -> List[AttackSet]:
    """Every adversarial set of the grid, in table order."""
    out = []
    for source in self.sources:
      for method in self.methods:
        parts = methods_lib.parse_method(method)
        settings = dict(self.attack)
        settings.update(source.attack)
        settings['method'] = method
        settings.setdefault('micro_batch', self.attack_batch_size)
        if jit_compile is not None:
          settings['jit_compile'] = jit_compile
        if parts.objective == 'fia':
          probs = {}
          for group in GROUPS:
            if self.targets.get(group):
              probs.setdefault(self.keep_prob[group], []).append(group)
          for prob, groups in probs.items():
            config = _attack_config(self.path, dict(settings, keep_prob=prob))
            out.append(AttackSet(source.model, method,
                                 f'{source.model}/{method}_p{prob:g}', config,
                                 tuple(groups)))
        else:
          config = _attack_config(self.path, settings)
          out.append(AttackSet(
              source.model, method, f'{source.model}/{method}', config,
              tuple(g for g in GROUPS if self.targets.get(g))))
    return out


def _attack_config(path, settings):
  try:
    return fia_tf.AttackConfig(**settings)
  except TypeError as e:
    raise ConfigError(f'{path}: bad attack setting ({e})') from None
  except ValueError as e:
    raise ConfigError(f'{path}: {e}') from None


def config_path(name_or_path):
  """A config file from a path or a name in ``experiments/configs``."""
  path = pathlib.Path(name_or_path)
  if path.suffix != '.json' and not path.exists():
    path = CONFIG_DIR / f'{name_or_path}.json'
  return path


def load(path, overrides=None) -> Benchmark:
  """Reads and validates a benchmark config.

  Args:
    path: the JSON file (or a name in ``experiments/configs``).
    overrides: top-level keys replacing the file's (from flags).

  Raises:
    ConfigError: naming the file and the bad key or value.
  """
  path = config_path(path)
  try:
    raw = json.loads(path.read_text(encoding='utf-8'))
  except FileNotFoundError:
    raise ConfigError(f'benchmark config {str(path)!r} does not exist') \
        from None
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
  root = pathlib.Path(raw.get('root') or REPO_ROOT)

  def resolve(value):
    if value is None:
      return None
    value = pathlib.Path(value).expanduser()
    return value if value.is_absolute() else root / value

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
  keep_prob = {'normal': 0.7, 'defended': 0.9}
  keep_prob.update(raw.get('keep_prob') or {})
  if set(keep_prob) - set(GROUPS):
    raise ConfigError(f'{path}: "keep_prob" keys must be {list(GROUPS)}')
  attack = dict(raw.get('attack') or {})
  for key in ('method', 'keep_prob'):
    if key in attack:
      raise ConfigError(f'{path}: set {key!r} with "methods"/"keep_prob", '
                        'not inside "attack"')
  bench = Benchmark(
      path=path, name=raw.get('name') or path.stem,
      description=raw.get('description', ''), root=root,
      input_dir=resolve(raw['input_dir']), labels=resolve(raw.get('labels')),
      sources=sources, methods=list(raw['methods']),
      targets={g: list(v) for g, v in targets.items()}, keep_prob=keep_prob,
      attack=attack,
      attack_batch_size=int(raw.get('attack_batch_size', 10)),
      eval_batch_size=int(raw.get('eval_batch_size', 50)),
      model_modules=list(raw.get('model_modules') or []),
      tiny_checkpoints=bool(raw.get('tiny_checkpoints', False)), raw=raw)
  for key in ('attack_batch_size', 'eval_batch_size'):
    if getattr(bench, key) < 1:
      raise ConfigError(f'{path}: {key} must be >= 1')
  extra_models.import_model_modules(bench.model_modules)
  for name in [s.model for s in sources] + bench.all_targets:
    try:
      registry.get_spec(name)
    except KeyError as e:
      raise ConfigError(f'{path}: {e.args[0]}') from None
  bench.attack_sets()  # validates every method and setting
  return bench


def select(bench, sources=None, methods=None):
  """A copy of ``bench`` restricted to some sources and methods."""
  out = dataclasses.replace(bench)
  if sources:
    unknown = sorted(set(sources) - {s.model for s in bench.sources})
    if unknown:
      raise ConfigError(f'{bench.path}: no source(s) {unknown} in the grid; '
                        f'it has {[s.model for s in bench.sources]}')
    out.sources = [s for s in bench.sources if s.model in sources]
  if methods:
    unknown = sorted(set(methods) - set(bench.methods))
    if unknown:
      raise ConfigError(f'{bench.path}: no method(s) {unknown} in the grid; '
                        f'it has {bench.methods}')
    out.methods = [m for m in bench.methods if m in methods]
  return out


def check_checkpoints(bench, checkpoint_dir=None):
  """Raises the zoo's CheckpointNotFoundError for the first missing model,
  before any work; returns the names of all models needed."""
  needed = []
  for name in [s.model for s in bench.sources] + bench.all_targets:
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


def run_attacks(bench, image_set, output_dir, checkpoint_dir=None,
                jit_compile=None, progress_every=10.0, strategy=None):
  """Runs every attack set not already complete; returns ``{name: dir}``.

  Each source model is built and loaded once (in ``strategy``'s scope when
  given) for all of its methods.
  """
  dirs = {}
  by_source = {}
  for attack_set in bench.attack_sets(jit_compile):
    by_source.setdefault(attack_set.source, []).append(attack_set)
  layers = {s.model: s.layer for s in bench.sources}
  for source_name, sets in by_source.items():
    todo = []
    for attack_set in sets:
      directory = output_dir / 'adv' / attack_set.name
      dirs[attack_set.name] = directory
      expected = _expected_record(attack_set, image_set)
      if pipeline.is_complete(directory, expected):
        logging.info('%s: complete, skipped', attack_set.name)
      else:
        todo.append(attack_set)
    if not todo:
      continue
    spec = registry.get_spec(source_name)
    layer = layers[source_name]
    logging.info('loading source model %s', source_name)
    with (strategy.scope() if strategy is not None else
          contextlib.nullcontext()):
      source = spec.source_model(checkpoint_dir=checkpoint_dir,
                                 feature_layer=layer)
    replicas = strategy.num_replicas_in_sync if strategy is not None else 1
    for attack_set in todo:
      attack = fia_tf.Attack(source, attack_set.config, strategy=strategy)
      pipeline.attack_directory(
          attack, image_set, dirs[attack_set.name],
          batch_size=bench.attack_batch_size * replicas,
          label_offset=spec.label_offset,
          model_name=source_name, layer_name=layer or spec.default_layer,
          progress_every=progress_every,
          extra={'benchmark': bench.name, 'set': attack_set.name})
  return dirs


def paper_tables(bench, rows):
  """The success tables in the paper's layout from evaluation rows.

  Returns:
    ``{'changed': Table, 'wrong': Table}``: rows (source, method) plus one
    zero-perturbation control row per source, columns the targets.
  """
  sets = bench.attack_sets()
  targets = bench.all_targets
  lookup = {(r['set'], r['model']): r for r in rows}
  tables = {}
  for metric, control_metric, title in (
      ('success_changed', 'control_changed',
       'Attack success: prediction changed vs clean (%)'),
      ('success_wrong', 'control_wrong',
       'Attack success: prediction wrong vs ground truth (%)')):
    labels, keys, values, marks = [], [], [], []
    for source in bench.sources:
      source_sets = [s for s in sets if s.source == source.model]
      for method in bench.methods:
        line, mark = [], []
        for target in targets:
          group = bench.group_of(target)
          match = [s for s in source_sets
                   if s.method == method and group in s.groups]
          row = lookup.get((match[0].name, target)) if match else None
          line.append(row[metric] if row else float('nan'))
          mark.append(target == source.model)
        labels.append(f'{source.model} / {method}')
        keys.append((source.model, method))
        values.append(line)
        marks.append(mark)
      line = []
      for target in targets:
        found = [lookup[(s.name, target)] for s in source_sets
                 if (s.name, target) in lookup and
                 control_metric in lookup[(s.name, target)]]
        line.append(found[0][control_metric] if found else float('nan'))
      labels.append(f'{source.model} / zero perturbation')
      keys.append((source.model, None))
      values.append(line)
      marks.append([False] * len(targets))
    tables[metric.split('_')[1]] = benchmark_table.Table(
        title=title, row_labels=labels, col_labels=list(targets),
        values=np.array(values, np.float64).reshape(len(labels),
                                                    len(targets)),
        row_keys=keys, marks=np.array(marks, bool).reshape(len(labels),
                                                           len(targets)))
  return tables


def write_results(bench, rows, image_set, output_dir, extra=None):
  """Writes evaluation rows and the paper tables into ``output_dir``."""
  output_dir = pathlib.Path(output_dir)
  io.atomic_write_json(output_dir / 'evaluation.json', {
      'benchmark': bench.name, 'images': len(image_set.entries),
      'rows': rows})
  io.atomic_write_text(output_dir / 'evaluation.csv',
                       benchmark_table.evaluation_rows_csv(rows))
  tables = paper_tables(bench, rows)
  paths = {}
  for key, table in tables.items():
    paths[key] = benchmark_table.write_table(table, output_dir,
                                             f'table_{key}')
  md = [f'# {bench.name}: transfer attack success', '',
        bench.description, '',
        f'{len(image_set.entries)} images from {image_set.directory}; '
        '`*` = white-box (source = target). "zero perturbation" rows: the '
        'clean images through the same resize/save path (resize-induced '
        'flips).', '',
        benchmark_table.to_markdown(tables['changed']), '',
        benchmark_table.to_markdown(tables['wrong']), '',
        '## Per set and target', '',
        benchmark_table.evaluation_rows_markdown(rows)]
  io.atomic_write_text(output_dir / 'results.md', '\n'.join(md))
  record = {'benchmark': bench.raw, 'config_file': str(bench.path),
            'versions': pipeline.versions(), 'images': len(image_set.entries),
            'id_rule': image_set.id_rule}
  record.update(extra or {})
  io.atomic_write_json(output_dir / 'reproduce.json', record)
  return tables


def run(bench, output_dir, checkpoint_dir=None, max_images=None,
        jit_compile=None, progress_every=10.0, evaluate=True, strategy=None):
  """The whole benchmark: checkpoints check, attacks, evaluation, tables.

  Args:
    bench: a :class:`Benchmark` (see :func:`load`).
    output_dir: results directory (``adv/``, ``predictions/``, tables).
    checkpoint_dir: checkpoint root; with ``bench.tiny_checkpoints`` the
      default is ``<output_dir>/checkpoints`` and the tiny checkpoints are
      written there first.
    max_images: use only the first images (a quick subset).
    jit_compile: XLA on/off for the attacks (``None``: engine default).
    progress_every: seconds between progress lines.
    evaluate: also evaluate and tabulate (else attacks only).
    strategy: optional :class:`tf.distribute.Strategy` for attacks and
      evaluation (:mod:`fia_tf.distribute`); results are byte-identical to
      one device.

  Returns:
    The paper tables (``{'changed': Table, 'wrong': Table}``) or ``None``.

  Raises:
    CheckpointNotFoundError: before any work, for the first missing model.
    fia_tf.data.DataError: for unusable images or labels, before any work.
  """
  start = time.monotonic()
  output_dir = pathlib.Path(output_dir)
  if bench.tiny_checkpoints:
    from fia_tf import tiny_zoo  # pylint: disable=import-outside-toplevel
    checkpoint_dir = checkpoint_dir or output_dir / 'checkpoints'
    tiny_zoo.write_tiny_checkpoints(
        checkpoint_dir, names=[n for n in tiny_zoo.TINY_MODELS
                               if n in {s.model for s in bench.sources} |
                               set(bench.all_targets)])
  check_checkpoints(bench, checkpoint_dir)
  image_set = data.subset(data.image_set(bench.input_dir, bench.labels),
                          max_images)
  logging.info('%d images from %s (%s)', len(image_set),
               image_set.directory, image_set.id_rule)
  dirs = run_attacks(bench, image_set, output_dir, checkpoint_dir,
                     jit_compile, progress_every, strategy)
  if not evaluate:
    return None
  models = {}
  for attack_set in bench.attack_sets():
    models[attack_set.name] = [t for g in attack_set.groups
                               for t in bench.targets.get(g, [])]
  rows = evaluation.evaluate(image_set, dirs, models,
                             checkpoint_dir=checkpoint_dir,
                             batch_size=bench.eval_batch_size,
                             cache_dir=output_dir / 'predictions',
                             progress_every=progress_every,
                             strategy=strategy)
  if not distribute.is_chief(strategy):
    return paper_tables(bench, rows)
  tables = write_results(bench, rows, image_set, output_dir, extra={
      'seconds': round(time.monotonic() - start, 1),
      'max_images': max_images})
  logging.info('results in %s (results.md, table_changed.md/.csv/.png)',
               output_dir)
  return tables
