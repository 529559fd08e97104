"""The transfer runner: sources x methods x targets, one code path.

A transfer run attacks with every (source model, method) and evaluates the
adversarial images on every target of the groups the set is meant for:

1. :func:`plan_sets` turns sources, methods and settings into
   :class:`AttackSet` s. As in the FIA paper, a method whose parts read
   ``keep_prob`` (FIA and the attacks that build on it) gets one set per
   distinct keep probability of the target groups (0.7 against ``normal``,
   0.9 against ``defended`` targets); every other method one set for all;
2. the sets are attacked: in memory here (:func:`attack_in_memory`), or
   into directories by :mod:`fia_tf.runs`;
3. :func:`evaluate` predicts the clean images, every set and the
   zero-perturbation control on each target (built once, released after)
   and computes :mod:`fia_tf.evaluation.metrics` per (set, target).

The rows it returns feed :mod:`fia_tf.evaluation.tables`.
"""

import dataclasses
import gc
import time
from typing import Dict, List, Optional, Sequence, Tuple

from absl import logging
import numpy as np

from fia_tf import progress as progress_lib
from fia_tf.attacks import config as config_lib
from fia_tf.attacks import engine
from fia_tf.attacks import methods as methods_lib
from fia_tf.attacks import parts as parts_lib
from fia_tf.data import images as images_lib
from fia_tf.evaluation import inputs as inputs_lib
from fia_tf.evaluation import metrics

GROUPS = ('normal', 'defended')
DEFAULT_KEEP_PROB = {'normal': 0.7, 'defended': 0.9}


@dataclasses.dataclass(frozen=True)
class AttackSet:
  """One adversarial set of a transfer run.

  Attributes:
    source: the source model's name.
    method: the row label, as the method was written (``'FIA+PIDIM'``).
    name: unique key, ``<source>/<method>`` or
      ``<source>/<method>_p<keep_prob>`` (also the grid's directory).
    config: its :class:`fia_tf.AttackConfig`.
    groups: the target groups it is evaluated on.
    layer: feature layer overriding the source's (``None``: its default).
  """
  source: str
  method: str
  name: str
  config: config_lib.AttackConfig
  groups: Tuple[str, ...]
  layer: Optional[str] = None


def plan_sets(sources, methods, settings=None, *, groups=('normal',),
              keep_prob=None, source_settings=None, layers=None,
              method_settings=None, config_error=ValueError):
  """Every adversarial set of a run, in table order (source-major).

  A set's :class:`fia_tf.AttackConfig` fields are ``settings``, then its
  method's ``method_settings``, then its source's ``source_settings``, each
  replacing the one before; their ``options`` dicts are merged key by key
  in the same order (so a method's part options, such as BFA's
  ``bfa_eta``, live with the method and other methods never see them).

  Args:
    sources: source model names.
    methods: method strings (row labels).
    settings: :class:`fia_tf.AttackConfig` fields shared by all sets.
    groups: the target groups that have targets, in order.
    keep_prob: ``{group: keep probability}`` (default 0.7 / 0.9).
    source_settings: ``{source: fields}`` overriding ``settings``.
    layers: ``{source: feature layer}``.
    method_settings: ``{method: fields}`` for the sets of that method,
      keyed by the method string as written in ``methods``.
    config_error: exception class raised for a bad setting (the grid's
      names its config file).

  Returns:
    A list of :class:`AttackSet`.
  """
  keep_prob = dict(DEFAULT_KEEP_PROB, **(keep_prob or {}))
  unknown = sorted(set(groups) - set(GROUPS))
  if unknown:
    raise config_error(f'target groups must be among {GROUPS}, got '
                       f'{unknown}')
  method_settings = dict(method_settings or {})
  # A key that names no method would silently leave its method at the
  # defaults (a misspelt 'BFA ' or 'bfa'), so it is an error.
  stray = sorted(set(method_settings) - set(methods))
  if stray:
    raise config_error(f'method settings for {stray}, which are not among '
                       f'the methods {list(methods)}; key them by the '
                       'method string as written there')
  for method, fields in method_settings.items():
    if not isinstance(fields, dict):
      raise config_error(f'the settings of method {method!r} must be a dict '
                         f'of AttackConfig fields, got {fields!r}')
    bad = sorted({'method', 'keep_prob'} & set(fields))
    if bad:
      raise config_error(f'the settings of method {method!r} may not set '
                         f'{bad}: the method is the key and keep_prob '
                         'comes from the target groups')
  out = []
  for source in sources:
    for method in methods:
      try:
        parts = methods_lib.parse_method(method)
      except ValueError as e:
        raise config_error(str(e)) from None
      fields = _merge(settings, method_settings.get(method),
                      (source_settings or {}).get(source))
      fields['method'] = method
      layer = (layers or {}).get(source)
      if 'keep_prob' in parts_lib.settings_of(parts):
        probs = {}
        for group in groups:
          probs.setdefault(keep_prob[group], []).append(group)
        for prob, served in probs.items():
          out.append(AttackSet(
              source, method, f'{source}/{method}_p{prob:g}',
              _config(dict(fields, keep_prob=prob), config_error),
              tuple(served), layer))
      else:
        out.append(AttackSet(source, method, f'{source}/{method}',
                             _config(fields, config_error), tuple(groups),
                             layer))
  return out


def _merge(*layers):
  """AttackConfig fields of ``layers`` (later win), ``options`` merged."""
  fields, options = {}, {}
  for layer in layers:
    layer = dict(layer or {})
    options.update(layer.pop('options', None) or {})
    fields.update(layer)
  if options:
    fields['options'] = options
  return fields


def _config(fields, config_error):
  try:
    return config_lib.AttackConfig(**fields)
  except TypeError as e:
    raise config_error(f'bad attack setting ({e})') from None
  except ValueError as e:
    raise config_error(str(e)) from None


def attack_in_memory(images, labels, ids, sources, sets, *, batch_size,
                     label_offsets=None, strategy=None, progress_every=10.0,
                     log=None):
  """Runs every set's attack on in-memory images.

  Args:
    images: clean pixels ``[N, H, W, C]`` at every source's input size.
    labels: data-set labels ``[N]``.
    ids: per-image ids ``[N]`` keying the attacks' randomness.
    sources: ``{name: fia_tf.SourceModel}``.
    sets: :class:`AttackSet` list.
    batch_size: images per attack call.
    label_offsets: ``{source: offset}`` from data-set labels to the
      source's classes (default 0).
    strategy: optional :class:`tf.distribute.Strategy`.
    progress_every: seconds between progress lines.
    log: line logger (default absl).

  Returns:
    ``({set name: float32 adversarial pixels}, {set name: seconds})``.
  """
  images = np.asarray(images, np.float32)
  labels = np.asarray(labels, np.int64)
  ids = np.asarray(ids, np.int64)
  progress = progress_lib.Progress(len(images) * len(sets), 'attacks',
                                   every=progress_every, log=log)
  adversarial, seconds = {}, {}
  for attack_set in sets:
    start = time.monotonic()
    attack = engine.Attack(sources[attack_set.source], attack_set.config,
                           layer_name=attack_set.layer, strategy=strategy)
    offset = (label_offsets or {}).get(attack_set.source, 0)
    out = []
    for first in range(0, len(images), batch_size):
      batch = slice(first, first + batch_size)
      out.append(np.asarray(attack(images[batch],
                                   (labels[batch] + offset).astype(np.int32),
                                   ids=ids[batch])))
      progress.update(len(out[-1]), note=attack_set.name)
    adversarial[attack_set.name] = np.concatenate(out)
    seconds[attack_set.name] = time.monotonic() - start
  return adversarial, seconds


def evaluate(inputs, targets, sets, *, control=True, progress_every=10.0,
             log=None):
  """Predicts and scores every set on its targets.

  Args:
    inputs: :class:`fia_tf.evaluation.ArrayInputs` or
      :class:`fia_tf.evaluation.DirectoryInputs`.
    targets: :class:`fia_tf.evaluation.Target` list (each is used for all
      its sets, then released).
    sets: ``{target name: [set names]}``, or a list of set names evaluated
      on every target.
    control: also predict the zero-perturbation control.
    progress_every: seconds between progress lines.
    log: line logger (default absl).

  Returns:
    One row per (set, target): ``set``, ``target``, ``image_size``, ``n``,
    ``n_correct``, the :data:`fia_tf.evaluation.metrics.METRICS`,
    ``missing`` (names without a readable clean and adversarial image) and
    what the inputs add (``directory``).
  """
  if not isinstance(sets, dict):
    sets = {t.name: list(sets) for t in targets}
  count = inputs.count
  total = 0
  for target in targets:
    mine = sets.get(target.name, [])
    sizes = {inputs.adversarial_size(s) for s in mine} - {None}
    total += count * (1 + len(mine) + (len(sizes) if control else 0))
  progress = progress_lib.Progress(total, 'evaluate', every=progress_every,
                                   unit='predictions', log=log)
  names = inputs.names()
  rows = []
  for target in targets:
    mine = sets.get(target.name, [])
    if not mine:
      continue
    clean = inputs.clean(target, progress)
    controls = {}
    for set_name in mine:
      adversarial = inputs.predict(target, set_name, progress)
      size = inputs.adversarial_size(set_name)
      ctrl = None
      if control and size is not None:
        if size not in controls:
          controls[size] = inputs.control(target, size, progress)
        ctrl = controls[size]
        # An unreadable control image counts as unchanged.
        ctrl = np.where(ctrl == inputs_lib.MISSING, clean, ctrl)
      valid = (clean != inputs_lib.MISSING) & (
          adversarial != inputs_lib.MISSING)
      row = {'set': set_name, 'target': target.name, 'image_size': size}
      row.update(inputs.describe(set_name))
      row.update(metrics.rates(inputs.truth[valid], clean[valid],
                               adversarial[valid],
                               ctrl[valid] if ctrl is not None else None))
      row['missing'] = [n for n, ok in zip(names, valid) if not ok]
      rows.append(row)
      (log or logging.info)(
          f'{set_name} on {target.name}: n={row["n"]}, clean accuracy '
          f'{100 * row["clean_accuracy"]:.1f}%, success '
          f'{100 * row["success_changed"]:.1f}% (changed) / '
          f'{100 * row["success_wrong"]:.1f}% (wrong) / '
          f'{100 * row["success_correct"]:.1f}% among the '
          f'n={row["n_correct"]} clean-correct, control '
          f'{100 * row.get("control_changed", float("nan")):.1f}%')
    target.release()
    gc.collect()
  return rows


@dataclasses.dataclass
class TransferResult:
  """What :func:`run_in_memory` returns.

  Attributes:
    rows: evaluation rows, each with the set's ``source``, ``method``,
      ``keep_prob`` (of sets whose parts read it) and the target's
      ``group``.
    adversarial: ``{set name: adversarial pixels}``.
    attack_seconds: ``{set name: seconds}``.
    seconds: wall time of the run.
  """
  rows: List[dict]
  adversarial: Dict[str, np.ndarray]
  attack_seconds: Dict[str, float]
  seconds: float


def annotate(rows, sets, groups):
  """Adds each row's set fields (``source``, ``method``, ``keep_prob``)
  and its target's ``group`` (``groups``: ``{target name: group}``)."""
  by_name = {s.name: s for s in sets}
  for row in rows:
    attack_set = by_name[row['set']]
    row['source'] = attack_set.source
    row['method'] = attack_set.method
    row['keep_prob'] = (
        attack_set.config.keep_prob
        if 'keep_prob' in parts_lib.settings_of(attack_set.config.parts)
        else None)
    row['group'] = groups[row['target']]
  return rows


def targets_of(sets, targets_by_group):
  """``{target name: [set names]}``: each set on the targets of its groups."""
  out = {}
  for attack_set in sets:
    for group in attack_set.groups:
      for target in targets_by_group.get(group, ()):
        out.setdefault(target.name, []).append(attack_set.name)
  return out


def run_in_memory(images, labels, ids, sources, sets, targets_by_group, *,
                  batch_size, label_offsets=None, control=True,
                  strategy=None, progress_every=10.0, log=None):
  """Attacks in memory and evaluates: the whole run of a demo.

  Args:
    images, labels, ids: the clean data (see :func:`attack_in_memory`).
    sources: ``{name: fia_tf.SourceModel}``.
    sets: :class:`AttackSet` list (:func:`plan_sets`).
    targets_by_group: ``{group: [Target]}``.
    batch_size: images per attack call.
    label_offsets: ``{source: offset}``.
    control: also score the zero-perturbation control.
    strategy: optional :class:`tf.distribute.Strategy` for the attacks.
    progress_every: seconds between progress lines.
    log: line logger.

  Returns:
    A :class:`TransferResult`.
  """
  start = time.monotonic()
  adversarial, seconds = attack_in_memory(
      images, labels, ids, sources, sets, batch_size=batch_size,
      label_offsets=label_offsets, strategy=strategy,
      progress_every=progress_every, log=log)
  targets = []
  groups = {}
  for group in GROUPS:
    for target in targets_by_group.get(group, ()):
      if target.name in groups:
        raise ValueError(f'target {target.name!r} is in two groups')
      groups[target.name] = group
      targets.append(target)
  rows = evaluate(inputs_lib.ArrayInputs(images, labels, adversarial),
                  targets, targets_of(sets, targets_by_group),
                  control=control, progress_every=progress_every, log=log)
  annotate(rows, sets, groups)
  return TransferResult(rows, adversarial, seconds,
                        time.monotonic() - start)


def select(rows, **fields) -> Sequence[dict]:
  """The rows whose fields equal ``fields``."""
  return [r for r in rows if all(r.get(k) == v for k, v in fields.items())]


def evaluate_directories(image_set, directories, models, *, checkpoint_dir=None,
                         batch_size=50, cache_dir=None, control=True,
                         progress_every=10.0, strategy=None, log=None,
                         max_pixels=images_lib.DEFAULT_MAX_PIXELS):
  """Evaluates adversarial directories on targets (``evaluate.py``).

  Args:
    image_set: the clean images and labels (:func:`fia_tf.data.image_set`).
    directories: ``{set name: directory}`` of adversarial PNGs named like
      the clean images.
    models: targets (registry names, Keras models, SourceModels or
      :class:`fia_tf.evaluation.Target` s), or ``{set name: [targets]}`` to
      evaluate each set on its own.
    checkpoint_dir: checkpoint root of registry targets.
    batch_size: images per model call.
    cache_dir: optional per-file prediction cache.
    control: also evaluate the zero-perturbation control.
    progress_every: seconds between progress lines.
    strategy: optional :class:`tf.distribute.Strategy` (registry targets).
    log: line logger.
    max_pixels: largest width x height of an image read (0 or ``None``: no
      limit); larger files are counted as missing, like unreadable ones.

  Returns:
    The rows of :func:`evaluate`.

  Raises:
    KeyError, CheckpointNotFoundError: for an unknown or missing model,
      before any model is run.
  """
  from fia_tf.evaluation import targets as targets_lib  # pylint: disable=import-outside-toplevel
  per_set = models if isinstance(models, dict) else {
      name: list(models) for name in directories}
  made = {}
  for values in per_set.values():
    for value in values:
      key = value if isinstance(value, str) else id(value)
      if key not in made:
        kwargs = ({'checkpoint_dir': checkpoint_dir, 'strategy': strategy,
                   'batch_size': batch_size} if isinstance(value, str) else {})
        made[key] = targets_lib.as_target(value, **kwargs)
  sets = {}
  for set_name, values in per_set.items():
    for value in values:
      target = made[value if isinstance(value, str) else id(value)]
      sets.setdefault(target.name, []).append(set_name)
  inputs = inputs_lib.DirectoryInputs(image_set, directories,
                                      batch_size=batch_size,
                                      cache_dir=cache_dir,
                                      max_pixels=max_pixels)
  return evaluate(inputs, list(made.values()), sets, control=control,
                  progress_every=progress_every, log=log)
