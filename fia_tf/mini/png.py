"""Figures as PNGs with NumPy and imageio only (no plotting library).

Text uses a built-in 3x5 pixel font (upper case, digits, a little
punctuation), scaled up; enough for axis ticks, legends and labels.
"""

import numpy as np

_FONT = {
    ' ': '000 000 000 000 000', '0': '111 101 101 101 111',
    '1': '010 110 010 010 111', '2': '111 001 111 100 111',
    '3': '111 001 111 001 111', '4': '101 101 111 001 001',
    '5': '111 100 111 001 111', '6': '111 100 111 101 111',
    '7': '111 001 010 010 010', '8': '111 101 111 101 111',
    '9': '111 101 111 001 111', 'A': '010 101 111 101 101',
    'B': '110 101 110 101 110', 'C': '011 100 100 100 011',
    'D': '110 101 101 101 110', 'E': '111 100 110 100 111',
    'F': '111 100 110 100 100', 'G': '011 100 101 101 011',
    'H': '101 101 111 101 101', 'I': '111 010 010 010 111',
    'J': '001 001 001 101 010', 'K': '101 101 110 101 101',
    'L': '100 100 100 100 111', 'M': '101 111 111 101 101',
    'N': '110 101 101 101 101', 'O': '010 101 101 101 010',
    'P': '110 101 110 100 100', 'Q': '010 101 101 110 011',
    'R': '110 101 110 101 101', 'S': '011 100 010 001 110',
    'T': '111 010 010 010 010', 'U': '101 101 101 101 111',
    'V': '101 101 101 101 010', 'W': '101 101 111 111 101',
    'X': '101 101 010 101 101', 'Y': '101 101 010 010 010',
    'Z': '111 001 010 100 111', '.': '000 000 000 000 010',
    ',': '000 000 000 010 100', '-': '000 000 111 000 000',
    '+': '000 010 111 010 000', '%': '101 001 010 100 101',
    '/': '001 001 010 100 100', ':': '000 010 000 010 000',
    '(': '010 100 100 100 010', ')': '010 001 001 001 010',
    '_': '000 000 000 000 111', '=': '000 111 000 111 000',
    '*': '000 101 010 101 000', '<': '001 010 100 010 001',
    '>': '100 010 001 010 100', '?': '111 001 010 000 010',
    "'": '010 010 000 000 000', '#': '101 111 101 111 101',
}
_GLYPHS = {c: np.array([[b == '1' for b in row] for row in rows.split()])
           for c, rows in _FONT.items()}
WHITE = np.array([255, 255, 255], np.uint8)
BLACK = np.array([0, 0, 0], np.uint8)
# Distinct line colours (Tableau 10).
PALETTE = np.array([
    [31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40],
    [148, 103, 189], [140, 86, 75], [227, 119, 194], [127, 127, 127],
    [188, 189, 34], [23, 190, 207]], np.uint8)
# Anchors of a viridis-like map, low to high.
_CMAP = np.array([[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98],
                  [253, 231, 37]], np.float64)
_JET = np.array([[0, 0, 128], [0, 0, 255], [0, 255, 255], [255, 255, 0],
                 [255, 0, 0], [128, 0, 0]], np.float64)


def text_size(text, scale=2):
  """(height, width) in pixels of ``text`` drawn at ``scale``."""
  return 5 * scale, max(len(text) * 4 - 1, 0) * scale


def draw_text(canvas, text, y, x, color=BLACK, scale=2, anchor='left'):
  """Draws ``text`` (upper-cased) with its top at ``y``.

  ``anchor``: ``'left'`` (x is the left edge), ``'center'`` or ``'right'``.
  Characters without a glyph are drawn as '?'. Pixels off the canvas are
  clipped.
  """
  text = str(text).upper()
  _, width = text_size(text, scale)
  if anchor == 'center':
    x -= width // 2
  elif anchor == 'right':
    x -= width
  for i, char in enumerate(text):
    glyph = _GLYPHS.get(char, _GLYPHS['?'])
    big = np.kron(glyph, np.ones((scale, scale), bool))
    top, left = y, x + i * 4 * scale
    y0, x0 = max(top, 0), max(left, 0)
    y1 = min(top + big.shape[0], canvas.shape[0])
    x1 = min(left + big.shape[1], canvas.shape[1])
    if y1 <= y0 or x1 <= x0:
      continue
    part = big[y0 - top:y1 - top, x0 - left:x1 - left]
    canvas[y0:y1, x0:x1][part] = color


def colormap(values, low=0.0, high=1.0, name='viridis'):
  """Maps values to RGB uint8 with a viridis-like (or ``'jet'``) map."""
  anchors = _JET if name == 'jet' else _CMAP
  values = np.nan_to_num(np.asarray(values, np.float64), nan=low)
  t = np.clip((values - low) / max(high - low, 1e-12), 0, 1) * (
      len(anchors) - 1)
  i = np.minimum(np.floor(t).astype(int), len(anchors) - 2)
  f = (t - i)[..., None]
  return ((1 - f) * anchors[i] + f * anchors[i + 1]).round().astype(np.uint8)


def canvas(height, width):
  return np.full((height, width, 3), 255, np.uint8)


def heatmap(matrix, row_labels, col_labels, title='', cell=(22, 54),
            low=0.0, high=100.0, fmt='{:.0f}', scale=2):
  """A labelled heatmap with the value written in every cell.

  Args:
    matrix: ``[R, C]`` values; NaN cells are drawn grey and left blank.
    row_labels / col_labels: text per row / column.
    title: a line above.
    cell: (height, width) of a cell in pixels.
    low / high: the colour range.

  Returns:
    uint8 RGB image.
  """
  matrix = np.asarray(matrix, np.float64)
  rows, cols = matrix.shape
  ch, cw = cell
  left = max(text_size(r, scale)[1] for r in row_labels) + 10
  # Column labels are stacked on two lines when long.
  top = 12 * scale + 2 * 7 * scale + 8
  image = canvas(top + rows * ch + 10, left + cols * cw + 10)
  draw_text(image, title, 4, 4, scale=scale)
  for j, label in enumerate(col_labels):
    parts = [label[:cw // (4 * scale)], label[cw // (4 * scale):]]
    for k, part in enumerate(parts):
      draw_text(image, part, 12 * scale + k * 7 * scale,
                left + j * cw + cw // 2, scale=scale, anchor='center')
  colors = colormap(matrix, low, high)
  for i in range(rows):
    y = top + i * ch
    draw_text(image, row_labels[i], y + (ch - 5 * scale) // 2, left - 6,
              scale=scale, anchor='right')
    for j in range(cols):
      x = left + j * cw
      if np.isnan(matrix[i, j]):
        image[y:y + ch - 1, x:x + cw - 1] = 200
        continue
      image[y:y + ch - 1, x:x + cw - 1] = colors[i, j]
      frac = (matrix[i, j] - low) / max(high - low, 1e-12)
      ink = BLACK if frac > 0.6 else WHITE
      draw_text(image, fmt.format(matrix[i, j]), y + (ch - 5 * scale) // 2,
                x + cw // 2, color=ink, scale=scale, anchor='center')
  return image


def _line(image, y0, x0, y1, x1, color, width=2):
  steps = int(max(abs(y1 - y0), abs(x1 - x0))) + 1
  ys = np.linspace(y0, y1, steps).round().astype(int)
  xs = np.linspace(x0, x1, steps).round().astype(int)
  for dy in range(-(width // 2), width - width // 2):
    for dx in range(-(width // 2), width - width // 2):
      yy = np.clip(ys + dy, 0, image.shape[0] - 1)
      xx = np.clip(xs + dx, 0, image.shape[1] - 1)
      image[yy, xx] = color


def line_plot(x, series, title='', xlabel='', ylabel='', size=(300, 420),
              ylim=(0.0, 100.0), xticks=None, xticklabels=None, scale=2,
              log_x=False):
  """A line plot with markers, ticks and a legend.

  Args:
    x: the x values shared by all series.
    series: ``{label: y values}`` (NaN points are skipped).
    title / xlabel / ylabel: text.
    size: (height, width) of the plotting area.
    ylim: y range.
    xticks / xticklabels: tick positions and labels (default: ``x``).
    log_x: place x on a log scale.

  Returns:
    uint8 RGB image.
  """
  ph, pw = size
  x = np.asarray(x, np.float64)
  fx = np.log(x) if log_x else x
  xticks = x if xticks is None else np.asarray(xticks, np.float64)
  fticks = np.log(xticks) if log_x else xticks
  xticklabels = ([f'{v:g}' for v in xticks] if xticklabels is None else
                 xticklabels)
  legend_w = max(text_size(k, scale)[1] for k in series) + 40
  left, top, bottom = 60, 20 + 6 * scale, 40 + 10 * scale
  image = canvas(top + ph + bottom, left + pw + 20 + legend_w)
  draw_text(image, title, 4, 4, scale=scale)
  lo, hi = float(np.min(fx)), float(np.max(fx))
  pad = 0.05 * (hi - lo or 1.0)
  lo, hi = lo - pad, hi + pad

  def px(v):
    return left + (v - lo) / (hi - lo) * pw

  def py(v):
    return top + ph - (v - ylim[0]) / (ylim[1] - ylim[0]) * ph

  for k in range(6):
    value = ylim[0] + k * (ylim[1] - ylim[0]) / 5
    y = int(round(py(value)))
    image[y, left:left + pw] = 225
    draw_text(image, f'{value:g}', y - 5, left - 6, scale=scale,
              anchor='right')
  for value, label in zip(fticks, xticklabels):
    xp = int(round(px(value)))
    image[top + ph:top + ph + 5, xp] = 0
    draw_text(image, label, top + ph + 8, xp, scale=scale, anchor='center')
  image[top:top + ph + 1, left] = 0
  image[top + ph, left:left + pw + 1] = 0
  draw_text(image, xlabel, top + ph + 14 + 5 * scale, left + pw // 2,
            scale=scale, anchor='center')
  draw_text(image, ylabel, 4 + 7 * scale, 4, scale=scale)
  for idx, (label, ys) in enumerate(series.items()):
    color = PALETTE[idx % len(PALETTE)]
    ys = np.asarray(ys, np.float64)
    points = [(py(y), px(v)) for v, y in zip(fx, ys) if np.isfinite(y)]
    for (y0, x0), (y1, x1) in zip(points, points[1:]):
      _line(image, y0, x0, y1, x1, color)
    for y, xp in points:
      yi, xi = int(round(y)), int(round(xp))
      image[max(yi - 3, 0):yi + 4, max(xi - 3, 0):xi + 4] = color
    ly = top + 10 + idx * 9 * scale
    lx = left + pw + 20
    _line(image, ly + 2 * scale, lx, ly + 2 * scale, lx + 20, color)
    draw_text(image, label, ly, lx + 26, scale=scale)
  return image


def gray_to_rgb(images):
  """``[..., H, W, 1]`` 0..255 floats -> uint8 RGB."""
  images = np.clip(np.asarray(images), 0, 255).round().astype(np.uint8)
  return np.repeat(images, 3, axis=-1) if images.shape[-1] == 1 else images


def upscale(image, factor):
  return np.kron(image, np.ones((factor, factor, 1), image.dtype))


def tile(images, row_labels=None, col_labels=None, factor=3, gap=2,
         scale=2, title=''):
  """A labelled grid of ``images[r][c]`` (uint8 RGB, equal sizes)."""
  rows, cols = len(images), len(images[0])
  h, w = images[0][0].shape[:2]
  h, w = h * factor, w * factor
  left = (max(text_size(r, scale)[1] for r in row_labels) + 10
          if row_labels else 0)
  top = (8 * scale if title else 0) + (8 * scale if col_labels else 0) + 4
  image = canvas(top + rows * (h + gap), left + cols * (w + gap))
  if title:
    draw_text(image, title, 2, 2, scale=scale)
  for c, label in enumerate(col_labels or []):
    draw_text(image, label, top - 7 * scale, left + c * (w + gap) + w // 2,
              scale=scale, anchor='center')
  for r in range(rows):
    y = top + r * (h + gap)
    if row_labels:
      draw_text(image, row_labels[r], y + (h - 5 * scale) // 2, left - 6,
                scale=scale, anchor='right')
    for c in range(cols):
      x = left + c * (w + gap)
      image[y:y + h, x:x + w] = upscale(images[r][c], factor)
  return image


def hstack(images, gap=10):
  """Side by side, top-aligned, on white."""
  height = max(i.shape[0] for i in images)
  out = canvas(height, sum(i.shape[1] for i in images) + gap * (
      len(images) - 1))
  x = 0
  for i in images:
    out[:i.shape[0], x:x + i.shape[1]] = i
    x += i.shape[1] + gap
  return out


def vstack(images, gap=10):
  """One above the other, left-aligned, on white."""
  width = max(i.shape[1] for i in images)
  out = canvas(sum(i.shape[0] for i in images) + gap * (len(images) - 1),
               width)
  y = 0
  for i in images:
    out[y:y + i.shape[0], :i.shape[1]] = i
    y += i.shape[0] + gap
  return out


def save(path, image):
  import imageio.v2 as imageio  # pylint: disable=g-import-not-at-top
  imageio.imwrite(str(path), np.asarray(image, np.uint8))
