"""The project's figures as PNG files, drawn with matplotlib.

Four kinds of figure cover what the binaries report: heatmaps of success
rates (:func:`heatmaps`), grids of images such as adversarial examples
(:func:`image_grid`), attention maps over images (:func:`attention_grid`)
and curves over a swept parameter or over layers (:func:`line_plot`).

matplotlib is an optional dependency, so it is imported inside the
functions: this module imports without it, :func:`available` says whether
figures can be drawn, and every drawing function raises ``ImportError``
with install instructions when they cannot.

Figures are built on ``matplotlib.figure.Figure`` with an explicit Agg
canvas rather than through ``pyplot``: pyplot keeps global figure state and
would select a backend, and a library must not change either behind its
user's back. Drawing also runs under matplotlib's default style, so that a
user's ``matplotlibrc`` cannot change the output; together with a fixed
dpi and no ``Software`` metadata this makes equal inputs give equal bytes.
"""

import io
import math
import numbers
import pathlib

import numpy as np

from fia_tf.data import files as _files

_INSTALL_HINT = ("matplotlib is needed to draw figures; install the plots "
                 "extra: pip install 'fia_tf[plots]' (or make install)")

_DPI = 150
_FONT_SIZE = 10  # Tick and axis labels.
_CELL_FONT_SIZE = 9  # Numbers inside heatmap cells.
_TITLE_SIZE = 12
# Mean advance of a DejaVu Sans glyph in ems; only used to size figures
# before layout, constrained layout does the exact fitting.
_CHAR_EM = 0.62
_NAN_COLOR = '#d9d9d9'
_FRAME_COLORS = {'ok': '#1a9641', 'bad': '#d7191c'}
_FRAME_WIDTH = 3.0  # Points; thick enough to read at a glance.
_MARKERS = ('o', 's', '^', 'D', 'v', 'P', 'X', '*', '<', '>')


def available():
  """Whether matplotlib can be imported, i.e. whether figures can be drawn.

  Returns:
    True if the drawing functions of this module work.
  """
  # pylint: disable=g-import-not-at-top,unused-import
  try:
    import matplotlib
    import matplotlib.backends.backend_agg
    import matplotlib.figure
  except ImportError:
    return False
  return True


def _matplotlib():
  """Imports matplotlib or raises ImportError with install instructions."""
  # pylint: disable=g-import-not-at-top
  try:
    import matplotlib
    import matplotlib.backends.backend_agg
    import matplotlib.cm
    import matplotlib.colors
    import matplotlib.figure
    import matplotlib.style
  except ImportError as e:
    raise ImportError(_INSTALL_HINT) from e
  return matplotlib


def _new_figure(mpl, width, height):
  """A pyplot-free figure of ``width`` x ``height`` inches on an Agg canvas."""
  figure = mpl.figure.Figure(figsize=(width, height), dpi=_DPI,
                             layout='constrained', facecolor='white')
  mpl.backends.backend_agg.FigureCanvasAgg(figure)
  return figure


def _png_bytes(figure):
  mpl = _matplotlib()
  buffer = io.BytesIO()
  # Some settings (text hinting, savefig.*) are read when drawing, so the
  # default style must hold here too, not only while building the figure.
  with mpl.style.context('default'):
    # Without the Software entry the bytes do not depend on the matplotlib
    # version string; Agg writes no timestamp into PNGs.
    figure.savefig(buffer, format='png', dpi=_DPI, facecolor='white',
                   metadata={'Software': None})
  return buffer.getvalue()


def _save(figure, path):
  return pathlib.Path(_files.atomic_write_bytes(path, _png_bytes(figure)))


def _text_width(text, size):
  """Approximate width in inches of ``text`` at ``size`` points."""
  lines = str(text).split('\n')
  return max(len(line) for line in lines) * _CHAR_EM * size / 72


def _labels(name, labels, count=None, what=None):
  """Checks a sequence of labels and returns it as a list of str."""
  if labels is None or isinstance(labels, (str, bytes)):
    raise ValueError(f'{name} must be a sequence of labels, got {labels!r}')
  labels = [str(label) for label in labels]
  if not labels:
    raise ValueError(f'{name} is empty')
  if count is not None and len(labels) != count:
    raise ValueError(f'{name} has {len(labels)} labels but {what} has '
                     f'{count}: {labels!r}')
  return labels


def _positive(name, value):
  if (not isinstance(value, numbers.Real) or not math.isfinite(value) or
      value <= 0):
    raise ValueError(f'{name} must be a positive number, got {value!r}')
  return float(value)


def _contrast_ink(rgba):
  """Black or white, whichever contrasts more with ``rgba`` (WCAG 2)."""
  linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
            for c in rgba[:3]]
  luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
  on_black = (luminance + 0.05) / 0.05
  on_white = 1.05 / (luminance + 0.05)
  return 'black' if on_black >= on_white else 'white'


# ---- heatmaps ----------------------------------------------------------------


def _check_panels(panels, rows, cols):
  """Returns ``panels`` as a list of (title, float values, bool marks)."""
  if panels is None or isinstance(panels, (str, bytes)):
    raise ValueError(f'panels must be a list of (title, values, marks), got '
                     f'{panels!r}')
  panels = list(panels)
  if not panels:
    raise ValueError('panels is empty')
  checked = []
  for k, panel in enumerate(panels):
    try:
      title, values, marks = panel
    except (TypeError, ValueError):
      raise ValueError(f'panels[{k}] must be a (title, values, marks) tuple, '
                       f'got {panel!r}') from None
    try:
      values = np.array(values, dtype=np.float64)
    except (TypeError, ValueError):
      raise ValueError(f'panels[{k}] values are not numbers: '
                       f'{values!r}') from None
    if values.shape != (rows, cols):
      raise ValueError(
          f'panels[{k}] values has shape {values.shape}, expected '
          f'{(rows, cols)} = (len(row_labels), len(col_labels))')
    if marks is not None:
      marks = np.asarray(marks)
      if marks.shape != (rows, cols):
        raise ValueError(
            f'panels[{k}] marks has shape {marks.shape}, expected '
            f'{(rows, cols)} = (len(row_labels), len(col_labels))')
      marks = marks.astype(bool)
    else:
      marks = np.zeros((rows, cols), bool)
    checked.append((None if title is None else str(title), values, marks))
  return checked


def _heatmaps_figure(panels, row_labels, col_labels, *, vmin=0.0,
                     vmax=100.0, colorbar_label='success rate (%)',
                     decimals=1, suptitle=None):
  """Builds the figure of :func:`heatmaps` (see there) without saving it."""
  mpl = _matplotlib()
  row_labels = _labels('row_labels', row_labels)
  col_labels = _labels('col_labels', col_labels)
  rows, cols = len(row_labels), len(col_labels)
  panels = _check_panels(panels, rows, cols)
  for name, value in (('vmin', vmin), ('vmax', vmax)):
    if not isinstance(value, numbers.Real) or not math.isfinite(value):
      raise ValueError(f'{name} must be a finite number, got {value!r}')
  if vmin >= vmax:
    raise ValueError(f'vmin must be below vmax, got vmin={vmin!r}, '
                     f'vmax={vmax!r}')
  if (isinstance(decimals, bool) or not isinstance(decimals, numbers.Integral)
      or decimals < 0):
    raise ValueError(f'decimals must be an integer >= 0, got {decimals!r}')

  texts = []
  for _, values, marks in panels:
    texts.append([[
        '-' if math.isnan(values[i, j]) else
        f'{values[i, j]:.{decimals}f}' + ('*' if marks[i, j] else '')
        for j in range(cols)] for i in range(rows)])
  longest = max(len(t) for panel in texts for row in panel for t in row)

  # Sizes in inches, derived from the content so that cells keep room for
  # their numbers however many rows and columns there are.
  cell_w = max(0.55, _text_width('0' * longest, _CELL_FONT_SIZE) + 0.2)
  cell_h = 0.32
  label_w = max(_text_width(label, _FONT_SIZE) for label in col_labels)
  # Horizontal labels read best: widen the cells for them up to an inch,
  # and only beyond that turn the labels instead.
  rotate = label_w + 0.15 > max(cell_w, 1.0)
  if rotate:
    header_h = label_w * math.sin(math.radians(45)) + 0.2
    # A 45 degree label on the last column sticks out to the right.
    overhang = max(0.0, label_w * math.cos(math.radians(45)) - 1.0)
  else:
    cell_w = max(cell_w, label_w + 0.15)
    header_h = 0.3
    overhang = 0.0
  titles = [title for title, _, _ in panels if title]
  left_w = max(_text_width(label, _FONT_SIZE) for label in row_labels) + 0.3
  panel_h = rows * cell_h + header_h + (0.35 if titles else 0.0) + 0.15
  height = len(panels) * panel_h + (0.45 if suptitle else 0.0) + 0.2
  # A vertical colour bar is as tall as the panels; when they are too short
  # for its label (few rows) it goes below them instead.
  bar_span = len(panels) * panel_h - header_h
  horizontal = bar_span < _text_width(colorbar_label, _FONT_SIZE) + 0.5
  if horizontal:
    bar_w = 0.0
    height += 0.6
  else:
    bar_w = 0.9
  width = max(left_w + cols * cell_w + bar_w + overhang, 3.0,
              *(_text_width(t, _TITLE_SIZE) + 0.5 for t in titles),
              (_text_width(suptitle, _TITLE_SIZE + 1) + 0.5) if suptitle
              else 0.0)

  cmap = mpl.colormaps['viridis'].with_extremes(bad=_NAN_COLOR)
  norm = mpl.colors.Normalize(vmin=vmin, vmax=vmax, clip=True)
  with mpl.style.context('default'):
    figure = _new_figure(mpl, width, height)
    axes = figure.subplots(len(panels), 1, squeeze=False)[:, 0]
    image = None
    for ax, (title, values, _), panel_texts in zip(axes, panels, texts):
      image = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, norm=norm,
                        aspect='auto', interpolation='nearest')
      for i in range(rows):
        for j in range(cols):
          value = values[i, j]
          ink = ('black' if math.isnan(value) else
                 _contrast_ink(cmap(norm(value))))
          ax.text(j, i, panel_texts[i][j], ha='center', va='center',
                  color=ink, fontsize=_CELL_FONT_SIZE)
      ax.set_xticks(range(cols))
      ax.set_yticks(range(rows))
      ax.set_yticklabels(row_labels, fontsize=_FONT_SIZE)
      if rotate:
        ax.set_xticklabels(col_labels, fontsize=_FONT_SIZE, rotation=45,
                           ha='left', rotation_mode='anchor')
      else:
        ax.set_xticklabels(col_labels, fontsize=_FONT_SIZE)
      ax.tick_params(top=False, bottom=False, left=False, labeltop=True,
                     labelbottom=False)
      # White lines between cells keep neighbouring similar colours apart.
      ax.set_xticks(np.arange(cols + 1) - 0.5, minor=True)
      ax.set_yticks(np.arange(rows + 1) - 0.5, minor=True)
      ax.grid(which='minor', color='white', linewidth=1.5)
      ax.tick_params(which='minor', top=False, bottom=False, left=False)
      for spine in ax.spines.values():
        spine.set_visible(False)
      if title:
        ax.set_title(title, fontsize=_TITLE_SIZE)
    if horizontal:
      colorbar = figure.colorbar(image, ax=list(axes), location='bottom',
                                 fraction=0.15, shrink=0.8, aspect=25)
    else:
      # The aspect makes the bar about 0.2 inches wide and as tall as the
      # panels; the generous fraction only keeps the width from limiting
      # the height on narrow grids.
      colorbar = figure.colorbar(image, ax=list(axes), fraction=0.5,
                                 aspect=max(8.0, bar_span / 0.2))
    colorbar.set_label(colorbar_label, fontsize=_FONT_SIZE)
    colorbar.ax.tick_params(labelsize=_FONT_SIZE - 1)
    if suptitle:
      figure.suptitle(suptitle, fontsize=_TITLE_SIZE + 1)
  return figure


def heatmaps(path, panels, row_labels, col_labels, *, vmin=0.0, vmax=100.0,
             colorbar_label='success rate (%)', decimals=1, suptitle=None):
  """Writes one or more stacked heatmap panels sharing rows and columns.

  Each cell shows its value with ``decimals`` decimals, in black or white,
  whichever contrasts more with the cell's colour. Colours come from the
  perceptually uniform viridis map between ``vmin`` and ``vmax`` (values
  outside are drawn with the end colours but printed as they are). Column
  labels are on top of each panel (cells widen for them up to an inch,
  longer labels are turned by 45 degrees); row labels are on the left; one
  colour bar serves all panels, below them when they are only a few rows
  high.

  Args:
    path: the PNG file to write; missing directories are created.
    panels: list of ``(title, values, marks)``: ``title`` a str or None,
      ``values`` a ``[rows, cols]`` array of percentages, NaN for cells not
      evaluated (drawn light grey with '-'), ``marks`` None or a bool
      ``[rows, cols]`` array of cells to star (e.g. white-box cells): '*' is
      appended to their number.
    row_labels: one label per row.
    col_labels: one label per column.
    vmin: the value drawn with the lowest colour.
    vmax: the value drawn with the highest colour.
    colorbar_label: the colour bar's label.
    decimals: digits after the decimal point in the cells.
    suptitle: optional title above all panels.

  Returns:
    ``pathlib.Path(path)``.

  Raises:
    ImportError: matplotlib is not installed.
    ValueError: empty ``panels`` or labels, a ``values`` or ``marks`` shape
      that is not ``(len(row_labels), len(col_labels))``, ``vmin >= vmax``
      or a negative ``decimals``.
  """
  return _save(
      _heatmaps_figure(panels, row_labels, col_labels, vmin=vmin, vmax=vmax,
                       colorbar_label=colorbar_label, decimals=decimals,
                       suptitle=suptitle), path)


# ---- image grids -------------------------------------------------------------


def _grid(name, nested, rows=None, cols=None):
  """Checks a list of equally long rows; returns it as a list of lists."""
  if nested is None or isinstance(nested, (str, bytes, np.ndarray)):
    raise ValueError(f'{name} must be a list of rows (lists), got '
                     f'{type(nested).__name__}')
  nested = list(nested)
  if not nested:
    raise ValueError(f'{name} is empty')
  if rows is not None and len(nested) != rows:
    raise ValueError(f'{name} has {len(nested)} rows, expected {rows} '
                     f'(as images)')
  out = []
  for i, row in enumerate(nested):
    if row is None or isinstance(row, (str, bytes, np.ndarray)):
      raise ValueError(f'{name}[{i}] must be a list of cells, got '
                       f'{type(row).__name__}')
    out.append(list(row))
  want = len(out[0]) if cols is None else cols
  for i, row in enumerate(out):
    if len(row) != want:
      raise ValueError(f'{name}[{i}] has {len(row)} cells, expected {want} '
                       f'(rows must be equally long; use None for blanks)')
  if want == 0:
    raise ValueError(f'{name} has rows without cells')
  return out


def _display_image(name, image):
  """A cell's image as uint8 (H, W) or (H, W, 3), clipped and rounded."""
  try:
    array = np.asarray(image, dtype=np.float64)
  except (TypeError, ValueError):
    raise ValueError(f'{name} is not a numeric array') from None
  if array.ndim == 3 and array.shape[-1] == 1:
    array = array[..., 0]
  if not (array.ndim == 2 or (array.ndim == 3 and array.shape[-1] == 3)):
    raise ValueError(f'{name} has shape {np.shape(image)}, expected (H, W), '
                     f'(H, W, 1) or (H, W, 3)')
  if 0 in array.shape:
    raise ValueError(f'{name} has shape {np.shape(image)}, which is empty')
  array = np.nan_to_num(array, nan=0.0, posinf=255.0, neginf=0.0)
  return np.clip(np.rint(array), 0, 255).astype(np.uint8)


def _check_grid(images, row_labels, col_labels, frames=None, maps=None,
                with_maps=False):
  """Validates the common arguments of the image grids.

  Returns:
    (images as uint8 arrays or None, row labels, column labels or None,
    frames as lists, maps as float arrays or None).
  """
  images = _grid('images', images)
  rows, cols = len(images), len(images[0])
  images = [[None if cell is None else
             _display_image(f'images[{i}][{j}]', cell)
             for j, cell in enumerate(row)] for i, row in enumerate(images)]
  if all(cell is None for row in images for cell in row):
    raise ValueError('images has no image, every cell is None')
  row_labels = _labels('row_labels', row_labels, rows, 'images')
  if col_labels is not None:
    col_labels = _labels('col_labels', col_labels, cols, 'each row of images')
  if frames is None:
    frames = [[None] * cols for _ in range(rows)]
  else:
    frames = _grid('frames', frames, rows, cols)
    for i, row in enumerate(frames):
      for j, frame in enumerate(row):
        if frame is not None and not (isinstance(frame, str) and
                                      frame in _FRAME_COLORS):
          raise ValueError(f"frames[{i}][{j}] must be None, 'ok' or 'bad', "
                           f'got {frame!r}')
  if with_maps:
    maps = _grid('maps', maps, rows, cols)
    for i, row in enumerate(maps):
      for j, attention in enumerate(row):
        if attention is None:
          continue
        if images[i][j] is None:
          raise ValueError(f'maps[{i}][{j}] is given but images[{i}][{j}] is '
                           f'None: there is nothing to overlay')
        try:
          attention = np.asarray(attention, dtype=np.float64)
        except (TypeError, ValueError):
          raise ValueError(f'maps[{i}][{j}] is not a numeric array') from None
        if attention.ndim == 3 and attention.shape[-1] == 1:
          attention = attention[..., 0]
        if attention.ndim != 2 or 0 in attention.shape:
          raise ValueError(f'maps[{i}][{j}] has shape {attention.shape}, '
                           f'expected (H, W)')
        row[j] = attention
  return images, row_labels, col_labels, frames, maps


def _grid_figure(mpl, images, row_labels, col_labels, title, frames, scale,
                 extra_width=0.0):
  """The figure and axes grid shared by image_grid and attention_grid."""
  rows, cols = len(images), len(images[0])
  shapes = [cell.shape[:2] for row in images for cell in row
            if cell is not None]
  aspect = max(h for h, _ in shapes) / max(w for _, w in shapes)
  cell_w = 1.4 * scale
  cell_h = cell_w * aspect
  left_w = max(_text_width(label, _FONT_SIZE) for label in row_labels) + 0.25
  top_h = 0.3 if col_labels else 0.05
  if col_labels:
    # Column labels wider than the images would run into each other.
    cell_w = max(cell_w, max(_text_width(label, _FONT_SIZE)
                             for label in col_labels) + 0.1)
  width = left_w + cols * (cell_w + 0.08) + extra_width + 0.4
  if title:
    width = max(width, _text_width(title, _TITLE_SIZE) + 0.4)
  height = (rows * (cell_h + 0.08) + top_h + (0.4 if title else 0.0) +
            0.15)
  figure = _new_figure(mpl, width, height)
  # Constrained layout sizes right-aligned row labels a few points short;
  # the wider side padding keeps their first letters on the canvas.
  figure.get_layout_engine().set(w_pad=0.12, h_pad=0.02, wspace=0.04,
                                 hspace=0.04)
  axes = figure.subplots(rows, cols, squeeze=False)
  for i in range(rows):
    for j in range(cols):
      ax = axes[i, j]
      ax.set_xticks([])
      ax.set_yticks([])
      image = images[i][j]
      if image is None:
        # Not axis('off'): that would also hide the row and column labels.
        for spine in ax.spines.values():
          spine.set_visible(False)
        ax.set_facecolor('none')
      else:
        if image.ndim == 2:
          ax.imshow(image, cmap='gray', vmin=0, vmax=255,
                    interpolation='nearest')
        else:
          ax.imshow(image, interpolation='nearest')
        frame = frames[i][j]
        for spine in ax.spines.values():
          if frame is None:
            spine.set_color('0.7')
            spine.set_linewidth(0.5)
          else:
            spine.set_color(_FRAME_COLORS[frame])
            spine.set_linewidth(_FRAME_WIDTH)
      if j == 0:
        ax.set_ylabel(row_labels[i], rotation=0, ha='right', va='center',
                      fontsize=_FONT_SIZE, labelpad=6)
      if i == 0 and col_labels:
        ax.set_title(col_labels[j], fontsize=_FONT_SIZE, pad=4)
  if title:
    figure.suptitle(title, fontsize=_TITLE_SIZE)
  return figure, axes


def _image_grid_figure(images, row_labels, col_labels=None, *, title=None,
                       frames=None, scale=1.0):
  """Builds the figure of :func:`image_grid` (see there) without saving it."""
  mpl = _matplotlib()
  images, row_labels, col_labels, frames, _ = _check_grid(
      images, row_labels, col_labels, frames)
  scale = _positive('scale', scale)
  with mpl.style.context('default'):
    figure, _ = _grid_figure(mpl, images, row_labels, col_labels, title,
                             frames, scale)
  return figure


def image_grid(path, images, row_labels, col_labels=None, *, title=None,
               frames=None, scale=1.0):
  """Writes a grid of images with row and column labels.

  Pixels are shown as they are ('nearest', no smoothing): grayscale with a
  grey colour map from 0 to 255, RGB directly.

  Args:
    path: the PNG file to write; missing directories are created.
    images: list of equally long rows, each a list of arrays ``(H, W)`` or
      ``(H, W, 1)`` grayscale or ``(H, W, 3)`` RGB with values 0..255 (any
      float or int dtype; clipped and rounded for display), or None for a
      blank cell.
    row_labels: one label per row, shown at the left.
    col_labels: one label per column, shown on top, or None.
    title: optional title above the grid.
    frames: None, or rows like ``images`` of None, 'ok' or 'bad': a green
      ('ok') or red ('bad') frame is drawn around that image, e.g. whether
      it is classified correctly.
    scale: multiplies the size of a cell (1.4 inches wide at 1.0).

  Returns:
    ``pathlib.Path(path)``.

  Raises:
    ImportError: matplotlib is not installed.
    ValueError: empty or ragged ``images``, an array that is not an image,
      label or ``frames`` counts that do not match ``images``, an unknown
      frame or a non-positive ``scale``.
  """
  return _save(
      _image_grid_figure(images, row_labels, col_labels, title=title,
                         frames=frames, scale=scale), path)


def _attention_grid_figure(images, maps, row_labels, col_labels=None, *,
                           title=None, alpha=0.5):
  """Builds the figure of :func:`attention_grid` (see there), unsaved."""
  mpl = _matplotlib()
  images, row_labels, col_labels, frames, maps = _check_grid(
      images, row_labels, col_labels, maps=maps, with_maps=True)
  if (not isinstance(alpha, numbers.Real) or not math.isfinite(alpha) or
      not 0.0 <= alpha <= 1.0):
    raise ValueError(f'alpha must be a number in [0, 1], got {alpha!r}')
  norm = mpl.colors.Normalize(vmin=0.0, vmax=1.0, clip=True)
  with mpl.style.context('default'):
    figure, axes = _grid_figure(mpl, images, row_labels, col_labels, title,
                                frames, 1.0, extra_width=0.9)
    for i, row in enumerate(maps):
      for j, attention in enumerate(row):
        if attention is None:
          continue
        h, w = images[i][j].shape[:2]
        # A coarser map (e.g. a feature map's) is stretched over the whole
        # image; smoothing it hides the blocky look of its upsampling.
        smooth = attention.shape != (h, w)
        axes[i, j].imshow(attention, cmap='jet', norm=norm, alpha=alpha,
                          extent=(-0.5, w - 0.5, h - 0.5, -0.5),
                          interpolation='bilinear' if smooth else 'nearest')
    mappable = mpl.cm.ScalarMappable(norm=norm, cmap='jet')
    colorbar = figure.colorbar(mappable, ax=axes.ravel().tolist(),
                               fraction=0.05, aspect=max(10, 8 * len(maps)))
    colorbar.set_label('attention', fontsize=_FONT_SIZE)
    colorbar.ax.tick_params(labelsize=_FONT_SIZE - 1)
  return figure


def attention_grid(path, images, maps, row_labels, col_labels=None, *,
                   title=None, alpha=0.5):
  """Writes a grid of images, each overlaid with its attention map.

  Like :func:`image_grid`, but every map is drawn over its image with the
  'jet' colour map from 0 to 1 and the given opacity, and one colour bar
  labelled 'attention' serves all cells.

  Args:
    path: the PNG file to write; missing directories are created.
    images: as in :func:`image_grid`.
    maps: rows like ``images`` of ``[H, W]`` arrays in [0, 1], or None for
      no overlay. A map of another size than its image is stretched over
      it (smoothly), so feature-resolution maps can be passed directly.
    row_labels: one label per row, shown at the left.
    col_labels: one label per column, shown on top, or None.
    title: optional title above the grid.
    alpha: opacity of the maps, 0 (invisible) to 1 (opaque).

  Returns:
    ``pathlib.Path(path)``.

  Raises:
    ImportError: matplotlib is not installed.
    ValueError: as for :func:`image_grid`, and for ``maps`` not shaped like
      ``images``, a map that is not 2-D, a map over a None image or an
      ``alpha`` outside [0, 1].
  """
  return _save(
      _attention_grid_figure(images, maps, row_labels, col_labels,
                             title=title, alpha=alpha), path)


# ---- line plots --------------------------------------------------------------


def _line_plot_figure(x, series, *, title, xlabel, ylabel, xticklabels=None,
                      ylim=None, styles=None, legend_loc='best'):
  """Builds the figure of :func:`line_plot` (see there) without saving it."""
  mpl = _matplotlib()
  try:
    x = np.array(x, dtype=np.float64)
  except (TypeError, ValueError):
    raise ValueError(f'x must be numbers, got {x!r}') from None
  if x.ndim != 1 or not x.size:
    raise ValueError(f'x must be a non-empty 1-D sequence, got shape '
                     f'{x.shape}')
  if not np.all(np.isfinite(x)):
    raise ValueError(f'x must be finite, got {x.tolist()!r}')
  if not isinstance(series, dict) or not series:
    raise ValueError(f'series must be a non-empty dict label -> y values, '
                     f'got {series!r}')
  ys = {}
  for label, values in series.items():
    try:
      values = np.array(values, dtype=np.float64)
    except (TypeError, ValueError):
      raise ValueError(f'series[{label!r}] is not numbers: '
                       f'{values!r}') from None
    if values.shape != x.shape:
      raise ValueError(f'series[{label!r}] has {values.size} values, '
                       f'expected {x.size} (len(x))')
    ys[str(label)] = values
  if xticklabels is not None:
    xticklabels = _labels('xticklabels', xticklabels, x.size, 'x')
  if ylim is not None:
    try:
      low, high = (float(v) for v in ylim)
    except (TypeError, ValueError):
      raise ValueError(f'ylim must be (low, high), got {ylim!r}') from None
    if not low < high:
      raise ValueError(f'ylim must be (low, high) with low < high, got '
                       f'{ylim!r}')
  styles = {} if styles is None else styles
  if not isinstance(styles, dict):
    raise ValueError(f'styles must be a dict label -> line kwargs, got '
                     f'{styles!r}')
  for label, style in styles.items():
    if label not in series:
      raise ValueError(f'styles has a style for {label!r}, which is not in '
                       f'series: {list(series)!r}')
    if not isinstance(style, dict):
      raise ValueError(f'styles[{label!r}] must be a dict of line kwargs, '
                       f'got {style!r}')

  rotate = xticklabels is not None and any(len(t) > 6 for t in xticklabels)
  width = min(14.0, max(5.5, 0.55 * x.size + 2.5))
  height = 4.0
  if rotate:
    height += max(_text_width(t, _FONT_SIZE) for t in xticklabels) * 0.71
  with mpl.style.context('default'):
    figure = _new_figure(mpl, width, height)
    ax = figure.subplots()
    for k, (label, key) in enumerate(zip(ys, series)):
      kwargs = {'marker': _MARKERS[k % len(_MARKERS)], 'linewidth': 1.8,
                'markersize': 5}
      kwargs.update(styles.get(key, {}))
      ax.plot(x, ys[label], label=label, **kwargs)
    if xticklabels is not None:
      ax.set_xticks(x)
      if rotate:
        ax.set_xticklabels(xticklabels, rotation=45, ha='right',
                           rotation_mode='anchor')
      else:
        ax.set_xticklabels(xticklabels)
    if ylim is not None:
      ax.set_ylim(low, high)
    ax.grid(True, color='0.88', linewidth=0.8)
    ax.set_axisbelow(True)
    ax.tick_params(labelsize=_FONT_SIZE)
    ax.set_title(title, fontsize=_TITLE_SIZE)
    ax.set_xlabel(xlabel, fontsize=_FONT_SIZE + 1)
    ax.set_ylabel(ylabel, fontsize=_FONT_SIZE + 1)
    ax.legend(loc=legend_loc, fontsize=_FONT_SIZE - 1, framealpha=0.9)
  return figure


def line_plot(path, x, series, *, title, xlabel, ylabel, xticklabels=None,
              ylim=None, styles=None, legend_loc='best'):
  """Writes lines with markers, one per series, with a legend.

  Args:
    path: the PNG file to write; missing directories are created.
    x: the x positions, numbers.
    series: dict label -> list of y values, as long as ``x``; NaN leaves a
      gap in the line. Drawn in insertion order.
    title: the plot's title.
    xlabel: the x axis label.
    ylabel: the y axis label.
    xticklabels: None, or one label per x position replacing the numeric
      ticks (e.g. layer names); rotated when long.
    ylim: None (automatic) or ``(low, high)``.
    styles: None or dict label -> matplotlib line kwargs overriding the
      defaults for that series, e.g. ``{'linestyle': '--'}`` for a
      baseline.
    legend_loc: where the legend goes, as matplotlib's ``loc``.

  Returns:
    ``pathlib.Path(path)``.

  Raises:
    ImportError: matplotlib is not installed.
    ValueError: empty or non-finite ``x``, empty ``series``, a series or
      ``xticklabels`` not as long as ``x``, a bad ``ylim`` or a style for a
      label that is not in ``series``.
  """
  return _save(
      _line_plot_figure(x, series, title=title, xlabel=xlabel, ylabel=ylabel,
                        xticklabels=xticklabels, ylim=ylim, styles=styles,
                        legend_loc=legend_loc), path)
