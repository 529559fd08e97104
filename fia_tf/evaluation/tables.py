"""Result tables: one writer for Markdown, CSV and JSON (and a heatmap).

A :class:`Table` is a matrix of rates with row and column labels.
:func:`transfer_table` builds the paper's layout from evaluation rows: one
row per (source model, method), one column per target model, optionally
black-box averages per target group and a zero-perturbation control row per
source. :func:`rows_markdown` / :func:`rows_csv` render the long
per-(set, target) rows of :func:`fia_tf.evaluation.evaluate` with every
metric and its denominator.

Rates over a subset of the images (the success among images the target
classifies correctly when clean) carry their denominator in every format:
``72.0 (n=143)`` in Markdown, a ``<target> (n)`` column after each target
column in CSV, ``counts`` in JSON.
"""

import csv
import dataclasses
import io as _io
import json
import math
from typing import List, Optional

import numpy as np

from fia_tf.data import files
from fia_tf.evaluation import metrics as metrics_lib


@dataclasses.dataclass
class Table:
  """Rates in [0, 1] (NaN = not evaluated).

  Attributes:
    title: one line.
    row_labels: e.g. ``['inception_v3 / FIA', ...]``.
    col_labels: target model names.
    values: float ``[rows, cols]``.
    row_keys: optional structured keys per row (e.g. (source, method)).
    marks: optional bool ``[rows, cols]``: cells to star (white-box).
    counts: optional ``[rows, cols]`` denominators of the cells (NaN: none,
      e.g. averages), shown next to the rates.
  """
  title: str
  row_labels: List[str]
  col_labels: List[str]
  values: np.ndarray
  row_keys: Optional[list] = None
  marks: Optional[np.ndarray] = None
  counts: Optional[np.ndarray] = None

  def count(self, row_label, col_label):
    """The cell's denominator (``None`` without one)."""
    if self.counts is None:
      return None
    value = self.counts[self.row_labels.index(row_label),
                        self.col_labels.index(col_label)]
    return None if math.isnan(value) else int(value)

  def cell(self, row_label, col_label):
    return self.values[self.row_labels.index(row_label),
                       self.col_labels.index(col_label)]


def _percent(value):
  return '' if value is None or math.isnan(value) else f'{100 * value:.1f}'


def _has_count(table, i, j):
  return table.counts is not None and not math.isnan(table.counts[i, j])


def to_markdown(table, corner='source / method'):
  """A Markdown table of percentages with one decimal (``*`` = marked,
  ``(n=...)``: the cell's denominator)."""
  lines = [f'**{table.title}**', '',
           '| ' + ' | '.join([corner] + table.col_labels) + ' |',
           '|' + '---|' * (len(table.col_labels) + 1)]
  for i, label in enumerate(table.row_labels):
    cells = []
    for j in range(len(table.col_labels)):
      text = _percent(table.values[i, j]) or '-'
      if table.marks is not None and table.marks[i, j] and text != '-':
        text += '*'
      if _has_count(table, i, j):
        text += f' (n={int(table.counts[i, j])})'
      cells.append(text)
    lines.append('| ' + ' | '.join([label] + cells) + ' |')
  return '\n'.join(lines) + '\n'


def to_csv(table, corner='source/method'):
  """CSV text: header of targets, one row per table row, rates in percent;
  with denominators, a ``<column> (n)`` column after each column that has
  any."""
  counted = [table.counts is not None and
             not np.all(np.isnan(table.counts[:, j]))
             for j in range(len(table.col_labels))]
  header = [corner]
  for label, has in zip(table.col_labels, counted):
    header += [label, f'{label} (n)'] if has else [label]
  out = _io.StringIO()
  writer = csv.writer(out, lineterminator='\n')
  writer.writerow(header)
  for i, label in enumerate(table.row_labels):
    line = [label]
    for j, has in enumerate(counted):
      line.append(_percent(table.values[i, j]))
      if has:
        line.append(str(int(table.counts[i, j])) if _has_count(table, i, j)
                    else '')
    writer.writerow(line)
  return out.getvalue()


def to_json(table):
  """A JSON-friendly dict: percentages (``None`` = not evaluated)."""
  values = [[None if math.isnan(v) else round(100 * float(v), 4)
             for v in row] for row in table.values]
  out = {'title': table.title, 'rows': list(table.row_labels),
         'columns': list(table.col_labels), 'percent': values}
  if table.marks is not None:
    out['marks'] = np.asarray(table.marks, bool).tolist()
  if table.counts is not None:
    out['counts'] = [[None if math.isnan(v) else int(v) for v in row]
                     for row in table.counts]
  return out


ROW_FIELDS = ['set', 'source', 'method', 'keep_prob', 'target', 'group', 'n',
              'n_correct', 'clean_accuracy', 'adv_accuracy',
              'success_changed', 'success_wrong', 'success_correct',
              'control_changed', 'control_wrong', 'image_size', 'missing',
              'directory']


def rows_csv(rows):
  """CSV text of evaluation rows (rates as 0..1, ``missing`` as a count)."""
  fields = [f for f in ROW_FIELDS if any(f in r for r in rows)]
  out = _io.StringIO()
  writer = csv.writer(out, lineterminator='\n')
  writer.writerow(fields)
  for row in rows:
    values = []
    for f in fields:
      value = row.get(f, '')
      if f == 'missing':
        value = len(value or ())
      elif value is None or (isinstance(value, float) and math.isnan(value)):
        value = ''
      elif f in metrics_lib.METRICS:
        value = f'{value:.6f}'
      elif isinstance(value, float):
        value = f'{value:g}'
      values.append(value)
    writer.writerow(values)
  return out.getvalue()


def _with_count(value, count):
  text = _percent(value)
  return f'{text}% (n={count})' if text else f'- (n={count})'


def rows_markdown(rows):
  """A Markdown table of evaluation rows (%), denominators included."""
  lines = ['| adversarial set | target | n | clean acc | adv acc | '
           'success: changed | success: wrong | success among clean-correct '
           '(n) | control flips |',
           '|---|---|---|---|---|---|---|---|---|']
  for r in rows:
    lines.append('| ' + ' | '.join([
        r['set'], r['target'], str(r['n']), _percent(r['clean_accuracy']),
        _percent(r['adv_accuracy']), _percent(r['success_changed']),
        _percent(r['success_wrong']),
        _with_count(r['success_correct'], r['n_correct']),
        _percent(r.get('control_changed', float('nan'))) or '-']) + ' |')
  return '\n'.join(lines) + '\n'


# Titles of the success metrics in tables.
TITLES = {
    'success_changed': 'Attack success: prediction changed vs clean (%)',
    'success_wrong': 'Attack success: prediction wrong vs ground truth (%)',
    'success_correct': ('Attack success among images the target classifies '
                        'correctly when clean (%)'),
}
_CONTROL = {'success_changed': 'control_changed',
            'success_wrong': 'control_wrong'}
AVERAGE_COLUMNS = {'normal': 'avg normal (black-box)',
                   'defended': 'avg defended'}


def _average(row, targets, groups, group, source):
  values = [row[t] for t in targets if groups.get(t) == group and t != source
            and not math.isnan(row[t])]
  return float(np.mean(values)) if values else float('nan')


def transfer_table(rows, metric, *, sources, methods, targets, groups=None,
                   title=None, averages=(), control=False):
  """The paper's layout from evaluation rows (see :func:`fia_tf.evaluation.
  annotate`).

  Args:
    rows: rows with ``source``, ``method``, ``target`` and ``metric``.
    metric: one of :data:`fia_tf.evaluation.metrics.SUCCESS`.
    sources, methods, targets: row and column order.
    groups: ``{target: group}`` (for averages).
    title: default: the metric's title.
    averages: groups to add a black-box average column for
      (``'normal'``: the group's targets other than the source;
      ``'defended'``).
    control: add a zero-perturbation row per source (changed / wrong
      metrics only).

  Returns:
    A :class:`Table`; cells the run did not evaluate are NaN; white-box
    cells (target = source) are marked; a metric with a denominator
    (:data:`fia_tf.evaluation.metrics.DENOMINATORS`) has it in ``counts``.
  """
  if metric not in metrics_lib.SUCCESS:
    raise ValueError(f'metric must be one of {metrics_lib.SUCCESS}, got '
                     f'{metric!r}')
  groups = groups or {}
  lookup = {(r['source'], r['method'], r['target']): r for r in rows}
  columns = list(targets) + [AVERAGE_COLUMNS[g] for g in averages]
  denominator = metrics_lib.DENOMINATORS.get(metric)
  labels, keys, values, marks, counts = [], [], [], [], []
  for source in sources:
    for method in methods:
      cells = {t: lookup[(source, method, t)][metric]
               if (source, method, t) in lookup else float('nan')
               for t in targets}
      counts.append([
          float(lookup[(source, method, t)][denominator])
          if denominator and (source, method, t) in lookup else float('nan')
          for t in targets] + [float('nan')] * len(averages))
      line = [cells[t] for t in targets] + [
          _average(cells, targets, groups, g, source) for g in averages]
      labels.append(f'{source} / {method}')
      keys.append((source, method))
      values.append(line)
      marks.append([t == source for t in targets] + [False] * len(averages))
    if control and metric in _CONTROL:
      line = []
      for target in targets:
        found = [r[_CONTROL[metric]] for r in rows
                 if r['source'] == source and r['target'] == target and
                 _CONTROL[metric] in r]
        line.append(found[0] if found else float('nan'))
      labels.append(f'{source} / zero perturbation')
      keys.append((source, None))
      values.append(line + [float('nan')] * len(averages))
      marks.append([False] * len(columns))
      counts.append([float('nan')] * len(columns))
  return Table(title=title or TITLES[metric], row_labels=labels,
               col_labels=columns,
               values=np.array(values, np.float64).reshape(len(labels),
                                                           len(columns)),
               row_keys=keys,
               marks=np.array(marks, bool).reshape(len(labels), len(columns)),
               counts=(np.array(counts, np.float64).reshape(
                   len(labels), len(columns)) if denominator else None))


def method_means(table, methods, averages):
  """Per method, the mean over sources of the table's average columns.

  Returns:
    ``{method: {group: rate}}``.
  """
  out = {}
  for method in methods:
    mine = [i for i, key in enumerate(table.row_keys) if key[1] == method]
    out[method] = {}
    for group in averages:
      column = table.col_labels.index(AVERAGE_COLUMNS[group])
      values = table.values[mine, column]
      values = values[~np.isnan(values)]
      out[method][group] = float(values.mean()) if values.size else float(
          'nan')
  return out



def write_table(table, directory, stem, heatmap=True):
  """Writes ``<stem>.md``, ``.csv`` and ``.json`` atomically, and the
  heatmap ``<stem>.png`` when ``heatmap`` and matplotlib is installed.

  Returns:
    The paths written.
  """
  from fia_tf.evaluation import plots  # pylint: disable=import-outside-toplevel
  paths = [files.atomic_write_text(directory / f'{stem}.md',
                                   to_markdown(table)),
           files.atomic_write_text(directory / f'{stem}.csv', to_csv(table)),
           files.atomic_write_json(directory / f'{stem}.json',
                                   to_json(table))]
  if heatmap and plots.available():
    paths.append(plots.heatmaps(
        directory / f'{stem}.png', [(table.title, 100 * table.values,
                                     table.marks)],
        table.row_labels, heatmap_columns(table)))
  return paths


def heatmap_columns(table):
  """Column labels of ``table``'s heatmap: a column whose cells share one
  denominator carries it (``'lite1 (n=177)'``), one whose cells differ says
  so (``'(n varies)'``: the numbers are in the Markdown and CSV)."""
  if table.counts is None:
    return list(table.col_labels)
  out = []
  for j, label in enumerate(table.col_labels):
    column = table.counts[:, j]
    known = {int(v) for v in column[~np.isnan(column)]}
    if len(known) == 1:
      label += f' (n={known.pop()})'
    elif known:
      label += ' (n varies)'
    out.append(label)
  return out
