"""Result tables: Markdown, CSV and a heatmap PNG (NumPy + imageio only).

A :class:`Table` is a matrix of rates with row and column labels; the
paper's layout has one row per (source model, method) and one column per
target model. :func:`evaluation_rows_markdown` / ``_csv`` render the long
per-(set, model) rows of :func:`fia_tf.evaluation.evaluate`.
"""

import csv
import dataclasses
import io as _io
import math
from typing import List, Optional

import numpy as np

from fia_tf import io


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
  """
  title: str
  row_labels: List[str]
  col_labels: List[str]
  values: np.ndarray
  row_keys: Optional[list] = None
  marks: Optional[np.ndarray] = None

  def cell(self, row_label, col_label):
    return self.values[self.row_labels.index(row_label),
                       self.col_labels.index(col_label)]


def _percent(value):
  return '' if value is None or math.isnan(value) else f'{100 * value:.1f}'


def to_markdown(table, corner='source / method'):
  """A Markdown table of percentages with one decimal (``*`` = marked)."""
  lines = [f'**{table.title}**', '',
           '| ' + ' | '.join([corner] + table.col_labels) + ' |',
           '|' + '---|' * (len(table.col_labels) + 1)]
  for i, label in enumerate(table.row_labels):
    cells = []
    for j in range(len(table.col_labels)):
      text = _percent(table.values[i, j]) or '-'
      if table.marks is not None and table.marks[i, j] and text != '-':
        text += '*'
      cells.append(text)
    lines.append('| ' + ' | '.join([label] + cells) + ' |')
  return '\n'.join(lines) + '\n'


def to_csv(table, corner='source/method'):
  """CSV text: header of targets, one row per table row, rates in percent."""
  out = _io.StringIO()
  writer = csv.writer(out, lineterminator='\n')
  writer.writerow([corner] + table.col_labels)
  for i, label in enumerate(table.row_labels):
    writer.writerow([label] + [_percent(v) for v in table.values[i]])
  return out.getvalue()


def evaluation_rows_csv(rows):
  """CSV text of :func:`fia_tf.evaluation.evaluate` rows (rates as 0..1)."""
  fields = ['set', 'model', 'n', 'clean_accuracy', 'adv_accuracy',
            'success_changed', 'success_wrong', 'control_changed',
            'control_wrong', 'image_size', 'missing', 'directory']
  out = _io.StringIO()
  writer = csv.writer(out, lineterminator='\n')
  writer.writerow(fields)
  for row in rows:
    values = []
    for f in fields:
      value = row.get(f, '')
      if f == 'missing':
        value = len(value or ())
      elif isinstance(value, float):
        value = '' if math.isnan(value) else f'{value:.6f}'
      values.append(value)
    writer.writerow(values)
  return out.getvalue()


def evaluation_rows_markdown(rows):
  """A Markdown table of :func:`fia_tf.evaluation.evaluate` rows (%)."""
  lines = ['| adversarial set | target | n | clean acc | adv acc | '
           'success (changed) | success (wrong) | control flips |',
           '|---|---|---|---|---|---|---|---|']
  for r in rows:
    lines.append('| ' + ' | '.join([
        r['set'], r['model'], str(r['n']), _percent(r['clean_accuracy']),
        _percent(r['adv_accuracy']), _percent(r['success_changed']),
        _percent(r['success_wrong']),
        _percent(r.get('control_changed', float('nan'))) or '-']) + ' |')
  return '\n'.join(lines) + '\n'


# ---- heatmap -------------------------------------------------------------------

# A 3x5 pixel font: each glyph is five rows of three bits.
_GLYPH_ROWS = {
    '0': (7, 5, 5, 5, 7), '1': (2, 6, 2, 2, 7), '2': (7, 1, 7, 4, 7),
    '3': (7, 1, 3, 1, 7), '4': (5, 5, 7, 1, 1), '5': (7, 4, 7, 1, 7),
    '6': (7, 4, 7, 5, 7), '7': (7, 1, 1, 2, 2), '8': (7, 5, 7, 5, 7),
    '9': (7, 5, 7, 1, 7), 'A': (2, 5, 7, 5, 5), 'B': (6, 5, 6, 5, 6),
    'C': (3, 4, 4, 4, 3), 'D': (6, 5, 5, 5, 6), 'E': (7, 4, 6, 4, 7),
    'F': (7, 4, 6, 4, 4), 'G': (3, 4, 5, 5, 3), 'H': (5, 5, 7, 5, 5),
    'I': (7, 2, 2, 2, 7), 'J': (1, 1, 1, 5, 2), 'K': (5, 5, 6, 5, 5),
    'L': (4, 4, 4, 4, 7), 'M': (5, 7, 7, 5, 5), 'N': (6, 5, 5, 5, 5),
    'O': (2, 5, 5, 5, 2), 'P': (6, 5, 6, 4, 4), 'Q': (2, 5, 5, 6, 3),
    'R': (6, 5, 6, 5, 5), 'S': (3, 4, 2, 1, 6), 'T': (7, 2, 2, 2, 2),
    'U': (5, 5, 5, 5, 7), 'V': (5, 5, 5, 5, 2), 'W': (5, 5, 7, 7, 5),
    'X': (5, 5, 2, 5, 5), 'Y': (5, 5, 2, 2, 2), 'Z': (7, 1, 2, 4, 7),
    '.': (0, 0, 0, 0, 2), '-': (0, 0, 7, 0, 0), '+': (0, 2, 7, 2, 0),
    '_': (0, 0, 0, 0, 7), '/': (1, 1, 2, 4, 4), '%': (5, 1, 2, 4, 5),
    '=': (0, 7, 0, 7, 0), ' ': (0, 0, 0, 0, 0), '*': (0, 5, 2, 5, 0),
    ':': (0, 2, 0, 2, 0), '(': (1, 2, 2, 2, 1), ')': (4, 2, 2, 2, 4),
    ',': (0, 0, 0, 2, 4),
}
_GLYPHS = {c: np.array([[(r >> (2 - b)) & 1 for b in range(3)] for r in rows],
                       bool) for c, rows in _GLYPH_ROWS.items()}
# Anchors of a perceptually ordered dark-blue -> teal -> yellow map.
_COLORMAP = np.array([[48, 18, 92], [44, 80, 142], [33, 140, 141],
                      [90, 195, 100], [250, 230, 40]], np.float64)
_NAN_COLOR = np.array([200, 200, 200], np.uint8)


def colormap(values):
  """Rates in [0, 1] -> uint8 RGB (NaN -> light grey)."""
  values = np.asarray(values, np.float64)
  nan = np.isnan(values)
  x = np.clip(np.nan_to_num(values), 0.0, 1.0) * (len(_COLORMAP) - 1)
  low = np.minimum(np.floor(x).astype(int), len(_COLORMAP) - 2)
  frac = (x - low)[..., None]
  rgb = _COLORMAP[low] * (1 - frac) + _COLORMAP[low + 1] * frac
  out = np.rint(rgb).astype(np.uint8)
  out[nan] = _NAN_COLOR
  return out


def text_width(text, scale):
  return len(text) * 4 * scale


def draw_text(canvas, text, top, left, scale=2, color=(0, 0, 0)):
  """Draws upper-cased ``text`` with the 3x5 font (unknown characters as
  blanks), clipped to the canvas."""
  color = np.asarray(color, np.uint8)
  x = left
  for char in text.upper():
    glyph = _GLYPHS.get(char, _GLYPHS[' '])
    big = np.kron(glyph, np.ones((scale, scale), bool))
    h, w = big.shape
    region = canvas[top:top + h, x:x + w]
    region[big[:region.shape[0], :region.shape[1]]] = color
    x += 4 * scale
  return canvas


def heatmap(table, cell=(22, 56), scale=2):
  """The table as an RGB image: one coloured cell per value with its
  percentage printed, row labels left, column labels (numbered, with a key
  below the grid) on top, and a colour bar from 0% to 100%.

  Returns:
    uint8 ``[H, W, 3]``.
  """
  rows, cols = table.values.shape
  ch, cw = cell
  pad = 8
  label_w = max([text_width(s, scale) for s in table.row_labels] + [40]) + pad
  header_h = 5 * scale + 2 * pad
  key = [f'{j + 1}={name}' for j, name in enumerate(table.col_labels)]
  key_h = (len(key) + 2) * (6 * scale + 2) + pad
  grid_w, grid_h = cols * cw, rows * ch
  width = max(label_w + grid_w + text_width('100%', scale) + 2 * pad,
              max([text_width(k, scale) for k in key] + [0]) + 2 * pad)
  height = header_h + grid_h + pad + 14 + key_h
  canvas = np.full((height, width, 3), 255, np.uint8)
  colors = colormap(table.values)
  for i in range(rows):
    top = header_h + i * ch
    draw_text(canvas, table.row_labels[i], top + (ch - 5 * scale) // 2, pad,
              scale)
    for j in range(cols):
      left = label_w + j * cw
      canvas[top + 1:top + ch - 1, left + 1:left + cw - 1] = colors[i, j]
      value = table.values[i, j]
      if not math.isnan(value):
        text = f'{100 * value:.0f}'
        if table.marks is not None and table.marks[i, j]:
          text += '*'
        ink = (0, 0, 0) if value > 0.55 else (255, 255, 255)
        draw_text(canvas, text, top + (ch - 5 * scale) // 2,
                  left + (cw - text_width(text, scale)) // 2 + scale,
                  scale, ink)
  for j in range(cols):
    text = str(j + 1)
    draw_text(canvas, text, pad,
              label_w + j * cw + (cw - text_width(text, scale)) // 2, scale)
  # Colour bar under the grid.
  bar_top = header_h + grid_h + pad
  ramp = colormap(np.linspace(0.0, 1.0, grid_w))
  canvas[bar_top:bar_top + 8, label_w:label_w + grid_w] = ramp[None]
  draw_text(canvas, '0%', bar_top, label_w - text_width('0%', scale) - 4,
            scale)
  draw_text(canvas, '100%', bar_top, label_w + grid_w + 4, scale)
  top = bar_top + 14 + pad
  draw_text(canvas, table.title[:max(1, width // (4 * scale) - 2)], top, pad,
            scale)
  for k, text in enumerate(key, start=1):
    draw_text(canvas, text, top + k * (6 * scale + 2), pad, scale)
  return canvas


def write_table(table, directory, stem):
  """Writes ``<stem>.md``, ``<stem>.csv`` and ``<stem>.png`` atomically.

  Returns:
    The three paths.
  """
  paths = (directory / f'{stem}.md', directory / f'{stem}.csv',
           directory / f'{stem}.png')
  io.atomic_write_text(paths[0], to_markdown(table))
  io.atomic_write_text(paths[1], to_csv(table))
  io.save_png(paths[2], heatmap(table))
  return paths
