"""Loading TF-slim checkpoints into the Keras zoo models, strictly by name.

Every Keras weight ``<layer>/<attr>`` maps to exactly one slim variable via
:func:`fia_tf.zoo.names.slim_variable_name`; the loader reads each one with
``tf.train.load_checkpoint`` and assigns it. It never skips silently:

* a model weight missing from the checkpoint, or with another shape, is an
  error;
* a checkpoint variable the model does not use is an error, unless it
  matches one of the documented :data:`DEFAULT_IGNORE` patterns (training
  bookkeeping and heads the Keras models deliberately leave out).

All problems are collected and reported in one :class:`CheckpointError`,
summarised by kind (missing, unused, wrong shape) and top-level scope, so
that a checkpoint of another net shows as such; the full list goes to a
text file whose path the message gives (``problems_dir``, default the
system's temporary directory; never inside the package).
"""

import collections
import dataclasses
import fnmatch
import os
import tempfile
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import tensorflow as tf

from fia_tf.zoo import names

# (pattern, reason) pairs of checkpoint variables that may be present without
# being used. Patterns use fnmatch syntax on the checkpoint name, where ``*``
# also matches ``/``. A name the model *does* use is never ignored.
DEFAULT_IGNORE: Tuple[Tuple[str, str], ...] = (
    ('global_step', 'training step counter'),
    ('*/AuxLogits/*', 'Inception auxiliary classifier head; it does not '
     'feed the logits, so the Keras models leave it out'),
    ('*/ExponentialMovingAverage', 'moving-average shadow copies kept by '
     'the training script'),
    ('*/RMSProp', 'RMSProp optimizer slot'),
    ('*/RMSProp_1', 'RMSProp optimizer slot'),
    ('*/Momentum', 'momentum optimizer slot'),
    ('*/Adam', 'Adam optimizer slot'),
    ('*/Adam_1', 'Adam optimizer slot'),
    ('beta1_power', 'Adam optimizer accumulator'),
    ('beta2_power', 'Adam optimizer accumulator'),
)

# How many individual problems an error message spells out.
_MAX_LISTED = 10
# How many scopes a kind's summary line names.
_MAX_SCOPES = 4
_KINDS = (('missing', 'missing from the checkpoint'),
          ('unused', 'in the checkpoint but not used by the model'),
          ('shape', 'of another shape in the checkpoint'))


class CheckpointError(ValueError):
  """A checkpoint does not exist, is unreadable, or does not fit a model."""


@dataclasses.dataclass(frozen=True)
class LoadReport:
  """What :func:`load_slim_checkpoint` did.

  Attributes:
    path: the checkpoint prefix that was read.
    loaded: number of model weights assigned.
    ignored: checkpoint variables skipped because they matched an ignore
      pattern, sorted.
  """
  path: str
  loaded: int
  ignored: Tuple[str, ...]


def checkpoint_prefix(path):
  """Resolves ``path`` to a checkpoint prefix.

  Accepts a prefix (``dir/model.ckpt``), one of its files
  (``model.ckpt.index``, ``model.ckpt.data-00000-of-00001``), or a directory
  holding a ``checkpoint`` state file or exactly one ``*.index``.

  Raises:
    CheckpointError: if nothing checkpoint-like is found.
  """
  path = os.fspath(path)
  if os.path.isdir(path):
    latest = tf.train.latest_checkpoint(path)
    if latest:
      return latest
    indexes = sorted(f for f in os.listdir(path) if f.endswith('.index'))
    if len(indexes) == 1:
      return os.path.join(path, indexes[0][:-len('.index')])
    raise CheckpointError(
        f'{path} is a directory with {len(indexes)} checkpoint index files '
        f'({indexes[:5]}); pass the checkpoint prefix instead')
  if path.endswith('.index'):
    return path[:-len('.index')]
  if '.data-' in os.path.basename(path):
    return path[:path.rindex('.data-')]
  return path


def open_checkpoint(path):
  """Returns ``(prefix, reader)`` for a checkpoint, with clear errors.

  Raises:
    CheckpointError: when the file is missing or is not a TF checkpoint.
  """
  prefix = checkpoint_prefix(path)
  if not (os.path.exists(prefix + '.index') or os.path.exists(prefix)):
    raise CheckpointError(f'no checkpoint found at {prefix} '
                          f'(expected {prefix}.index and its data file)')
  try:
    reader = tf.train.load_checkpoint(prefix)
  except (tf.errors.OpError, ValueError) as e:
    first_line = str(e).strip().splitlines()[0] if str(e).strip() else ''
    raise CheckpointError(
        f'{prefix} is not a readable TensorFlow checkpoint '
        f'({type(e).__name__}: {first_line})') from e
  return prefix, reader


def checkpoint_variables(path):
  """dict from variable name to shape (tuple) of a checkpoint."""
  _, reader = open_checkpoint(path)
  return {k: tuple(v) for k, v in reader.get_variable_to_shape_map().items()}


def top_level_scopes(path):
  """The set of first name components of a checkpoint's variables."""
  return {name.split('/', 1)[0] for name in checkpoint_variables(path)}


def _map_scope(name, scope_map):
  for model_scope, ckpt_scope in (scope_map or {}).items():
    if name == model_scope or name.startswith(model_scope + '/'):
      return ckpt_scope + name[len(model_scope):]
  return name


def _ignore_reason(name, ignore):
  for pattern, *reason in ignore:
    if fnmatch.fnmatchcase(name, pattern):
      return reason[0] if reason else pattern
  return None


def model_variables(model, scope_map=None):
  """Maps each Keras weight of ``model`` to its checkpoint name.

  Args:
    model: a zoo Keras model (layer names follow :mod:`names`).
    scope_map: optional ``{model scope: checkpoint scope}`` prefix renaming.

  Returns:
    dict from checkpoint variable name to the Keras variable.

  Raises:
    CheckpointError: if two weights map to one name (a naming bug).
  """
  out = {}
  for weight in model.weights:
    name = _map_scope(names.slim_variable_name(weight.path), scope_map)
    if name in out:
      raise CheckpointError(f'model {model.name}: weights {out[name].path!r} '
                            f'and {weight.path!r} both map to {name!r}')
    out[name] = weight
  return out


def _scope(name):
  return name.split('/', 1)[0] + '/' if '/' in name else name


def _summary(problems):
  """One line per kind: count and the top-level scopes it falls in."""
  lines = []
  for kind, what in _KINDS:
    names = [n for k, n, _ in problems if k == kind]
    if not names:
      continue
    scopes = collections.Counter(_scope(n) for n in names).most_common()
    listed = ', '.join(f'{s} {c}' for s, c in scopes[:_MAX_SCOPES])
    if len(scopes) > _MAX_SCOPES:
      listed += f', {len(scopes) - _MAX_SCOPES} more scope(s)'
    lines.append(f'{len(names)} {what} ({listed})')
  return lines


def _write_problems(prefix, model_name, problems, problems_dir):
  """Writes every problem, one a line, to a new file; returns its path (or
  ``None`` with the reason when it cannot be written)."""
  text = ''.join(f'{kind}\t{text}\n' for kind, _, text in problems)
  header = (f'# checkpoint {prefix} vs model {model_name!r}: '
            f'{len(problems)} problem(s); kind<TAB>problem\n')
  try:
    directory = os.fspath(problems_dir or tempfile.gettempdir())
    os.makedirs(directory, exist_ok=True)
    fd, path = tempfile.mkstemp(prefix='fia_tf-checkpoint-problems-',
                                suffix='.txt', dir=directory)
    with os.fdopen(fd, 'w', encoding='utf-8') as f:
      f.write(header + text)
  except OSError as e:
    return None, f'{type(e).__name__}: {e}'
  return path, None


def load_slim_checkpoint(model, path, scope_map=None,
                         ignore: Sequence[Tuple[str, str]] = DEFAULT_IGNORE,
                         problems_dir=None):
  """Assigns every weight of ``model`` from a slim checkpoint, by name.

  Args:
    model: a Keras model whose layer names follow :mod:`fia_tf.zoo.names`.
    path: checkpoint prefix (or a file of it, or its directory).
    scope_map: optional ``{model scope: checkpoint scope}`` renaming, for
      checkpoints saved under another top-level scope, e.g.
      ``{'InceptionV3': 'AdvInceptionV3'}`` for ``adv_inception_v3_rename``.
    ignore: ``(pattern, reason)`` pairs of checkpoint variables that may be
      left unused (see :data:`DEFAULT_IGNORE`). Pass ``()`` to demand that
      the checkpoint holds exactly the model's variables.
    problems_dir: where the full problem list of a checkpoint that does not
      fit is written (a new ``fia_tf-checkpoint-problems-*.txt``; default the
      system's temporary directory).

  Returns:
    A :class:`LoadReport`.

  Raises:
    CheckpointError: if the checkpoint is missing or unreadable, lacks a
      model variable, has a variable of another shape, or has variables the
      model does not use that are not covered by ``ignore``. Nothing is
      assigned in that case.
  """
  prefix, reader = open_checkpoint(path)
  ckpt_shapes = {k: tuple(v)
                 for k, v in reader.get_variable_to_shape_map().items()}
  wanted = model_variables(model, scope_map)

  # (kind, checkpoint name, text) per problem.
  problems: List[Tuple[str, str, str]] = []
  for name, weight in wanted.items():
    expected = tuple(int(d) for d in weight.shape)
    if name not in ckpt_shapes:
      problems.append(('missing', name,
                       f'variable {name!r} (Keras weight {weight.path!r}, '
                       f'shape {expected}) is missing from the checkpoint'))
    elif ckpt_shapes[name] != expected:
      problems.append(('shape', name,
                       f'variable {name!r} has shape {ckpt_shapes[name]} in '
                       f'the checkpoint but the model expects {expected}'))
  ignored = []
  for name in sorted(set(ckpt_shapes) - set(wanted)):
    if _ignore_reason(name, ignore) is not None:
      ignored.append(name)
    else:
      problems.append(('unused', name,
                       f'checkpoint variable {name!r} (shape '
                       f'{ckpt_shapes[name]}) is not used by the model'))
  if problems:
    summary = '\n  '.join(_summary(problems))
    listed = '\n  '.join(text for _, _, text in problems[:_MAX_LISTED])
    more = len(problems) - _MAX_LISTED
    if more > 0:
      where, why = _write_problems(prefix, model.name, problems,
                                   problems_dir)
      more = (f'\n  ... and {more} more; all {len(problems)} are listed in '
              f'{where}' if where else
              f'\n  ... and {more} more (the full list could not be '
              f'written: {why})')
    else:
      more = ''
    hint = ''
    model_scopes = sorted({_scope(n) for n in wanted})
    ckpt_scopes = sorted({_scope(n) for n in ckpt_shapes})
    if scope_map is None and all(k != 'shape' for k, _, _ in problems):
      hint = (f'\n(model scopes: {model_scopes[:8]}; checkpoint scopes: '
              f'{ckpt_scopes[:8]}')
      if not set(model_scopes) & set(ckpt_scopes):
        hint += ('; no scope in common: this is probably a checkpoint of '
                 'another net, or pass scope_map= if it was saved under '
                 'another scope)')
      else:
        hint += '; pass scope_map= if it was saved under another scope)'
    raise CheckpointError(
        f'checkpoint {prefix} does not fit model {model.name!r}: '
        f'{len(problems)} problem(s):\n  {summary}\nfirst problems:\n  '
        f'{listed}{more}{hint}')

  values: Dict[str, np.ndarray] = {}
  for name, weight in wanted.items():
    try:
      values[name] = reader.get_tensor(name)
    except (tf.errors.OpError, IndexError, ValueError, RuntimeError) as e:
      # The index was fine but the data is not: typically a truncated or
      # partially copied ``.data-*`` file.
      raise CheckpointError(
          f'checkpoint {prefix}: cannot read variable {name!r} '
          f'({type(e).__name__}: {e}); the data file is probably truncated '
          'or corrupt') from e
  for name, weight in wanted.items():
    weight.assign(np.asarray(values[name], dtype=weight.dtype))
  return LoadReport(path=prefix, loaded=len(wanted), ignored=tuple(ignored))


def ignored_reason(name, ignore=DEFAULT_IGNORE) -> Optional[str]:
  """Why ``name`` would be ignored by the loader, or ``None``."""
  return _ignore_reason(name, ignore)
