"""fia_tf.evaluation.plots: PNGs that decode, show the right colours and
labels, repeat byte for byte, and reject inconsistent arguments.

The module is also executed afresh from its file, to check that it imports
and explains itself without matplotlib.
"""

import importlib.util
import io
import pathlib
import sys

import imageio.v3 as iio
import numpy as np
import pytest

_ROOT = pathlib.Path(__file__).resolve().parents[2]
_PLOTS = _ROOT / 'fia_tf' / 'evaluation' / 'plots.py'

# Colours the module promises, as RGB 0..255.
_VIRIDIS_LOW = (68, 1, 84)
_VIRIDIS_HIGH = (253, 231, 37)
_RED = (215, 25, 28)
_GREEN = (26, 150, 65)


def _load(name='fia_plots'):
  """Executes plots.py as a fresh module called ``name``."""
  spec = importlib.util.spec_from_file_location(name, _PLOTS)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


from fia_tf.evaluation import plots  # pylint: disable=g-import-not-at-top,wrong-import-position


def _rgb(path_or_bytes):
  data = path_or_bytes
  if isinstance(data, bytes):
    data = io.BytesIO(data)
  image = iio.imread(data)
  assert image.ndim == 3 and image.shape[2] in (3, 4), image.shape
  return image[..., :3]


def _colours(image):
  return len(np.unique(image.reshape(-1, 3), axis=0))


def _near(image, colour, tolerance=8):
  """Mask of pixels within ``tolerance`` of ``colour`` in every channel."""
  return np.all(np.abs(image.astype(int) - colour) <= tolerance, axis=-1)


def _pixel(image, ax, x, y):
  """The pixel of a rendered figure at data coordinates (x, y) of ``ax``."""
  px, py = ax.transData.transform((x, y))
  return image[int(round(image.shape[0] - py)), int(round(px))]


def _region(image, ax, x0, y0, x1, y1):
  """The pixels between two data points of ``ax`` (any corner order)."""
  (ax0, ay0), (ax1, ay1) = ax.transData.transform([(x0, y0), (x1, y1)])
  h = image.shape[0]
  rows = sorted((int(round(h - ay0)), int(round(h - ay1))))
  cols = sorted((int(round(ax0)), int(round(ax1))))
  return image[rows[0]:rows[1], cols[0]:cols[1]]


def _gray_images(rows, cols, size=16, seed=0):
  rs = np.random.RandomState(seed)
  return [[rs.uniform(0, 255, (size, size)) for _ in range(cols)]
          for _ in range(rows)]


def _heat_args():
  values = np.array([[10.0, 55.5, np.nan], [99.0, 0.0, 42.0]])
  marks = np.array([[True, False, False], [False, True, False]])
  return ([('MIM', values, marks), ('FIA', values[::-1], None)],
          ['source A', 'source B'], ['target 1', 'target 2', 'target 3'])


def _all_figures(directory, tag=''):
  """Writes one figure of every kind; returns their paths."""
  panels, rows, cols = _heat_args()
  images = _gray_images(2, 3)
  maps = [[np.linspace(0, 1, 256).reshape(16, 16)] * 3] * 2
  return [
      plots.heatmaps(directory / f'heat{tag}.png', panels, rows, cols,
                     suptitle='success'),
      plots.image_grid(directory / f'grid{tag}.png', images, ['a', 'b'],
                       ['x', 'y', 'z'], title='grid',
                       frames=[['ok', None, 'bad'], [None] * 3]),
      plots.attention_grid(directory / f'att{tag}.png', images, maps,
                           ['a', 'b'], ['x', 'y', 'z'], title='attention'),
      plots.line_plot(directory / f'line{tag}.png', [1, 2, 3],
                      {'FIA': [1.0, np.nan, 3.0], 'MIM': [1, 2, 2]},
                      title='t', xlabel='x', ylabel='y',
                      xticklabels=['conv1', 'conv2', 'feat'],
                      styles={'MIM': {'linestyle': '--'}}),
  ]


def test_available_in_the_venv():
  assert plots.available() is True


def test_every_function_writes_a_valid_non_blank_png(tmp_path):
  paths = _all_figures(tmp_path / 'new' / 'dir')
  for path in paths:
    assert isinstance(path, pathlib.Path) and path.is_file()
    image = _rgb(path)
    assert image.shape[0] > 150 and image.shape[1] > 150, (path, image.shape)
    assert _colours(image) > 20, path
  # Atomic writes leave no temporary files next to the figures.
  assert sorted(p.name for p in paths[0].parent.iterdir()) == sorted(
      p.name for p in paths)


def test_same_inputs_give_identical_bytes_and_others_do_not(tmp_path):
  first = _all_figures(tmp_path, 'a')
  second = _all_figures(tmp_path, 'b')
  for a, b in zip(first, second):
    assert a.read_bytes() == b.read_bytes(), a.name
  panels, rows, cols = _heat_args()
  other = plots.heatmaps(tmp_path / 'other.png', panels, rows, cols,
                         suptitle='success', decimals=2)
  assert other.read_bytes() != first[0].read_bytes()


def _png_chunks(data):
  """The chunk types of a PNG file, in order."""
  assert data[:8] == b'\x89PNG\r\n\x1a\n'
  chunks, offset = [], 8
  while offset < len(data):
    length = int.from_bytes(data[offset:offset + 4], 'big')
    chunks.append(data[offset + 4:offset + 8])
    offset += 12 + length
  return chunks


def test_png_has_no_text_chunks(tmp_path):
  # Text chunks would carry the matplotlib version: output would then
  # change with an upgrade although the pixels do not.
  for path in _all_figures(tmp_path):
    chunks = _png_chunks(path.read_bytes())
    assert chunks[0] == b'IHDR' and chunks[-1] == b'IEND', path
    assert not {b'tEXt', b'zTXt', b'iTXt', b'tIME'} & set(chunks), chunks


def test_user_style_changes_neither_output_nor_settings(tmp_path):
  import matplotlib  # pylint: disable=g-import-not-at-top
  had_pyplot = 'matplotlib.pyplot' in sys.modules
  plain = plots.line_plot(tmp_path / 'plain.png', [0, 1], {'a': [0, 1]},
                          title='t', xlabel='x', ylabel='y')
  # Settings a user's matplotlibrc may hold that the module does not set
  # per artist.
  with matplotlib.rc_context({'font.size': 23.0, 'axes.facecolor': 'pink',
                              'axes.edgecolor': 'red',
                              'axes.prop_cycle': matplotlib.cycler(
                                  color=['orange'])}):
    styled = plots.line_plot(tmp_path / 'styled.png', [0, 1], {'a': [0, 1]},
                             title='t', xlabel='x', ylabel='y')
    assert matplotlib.rcParams['font.size'] == 23.0
  assert plain.read_bytes() == styled.read_bytes()
  # No pyplot: it would pick a backend and keep figures alive globally.
  assert had_pyplot or 'matplotlib.pyplot' not in sys.modules


def test_heatmap_cell_colours_text_and_marks():
  figure = plots._heatmaps_figure(  # pylint: disable=protected-access
      [('only', np.array([[0.0, 100.0, np.nan]]),
        np.array([[False, True, True]]))], ['src'], ['low', 'high', 'none'],
      decimals=0)
  image = _rgb(plots._png_bytes(figure))  # pylint: disable=protected-access
  ax = figure.axes[0]
  # Near a corner of each cell: away from the number and the white gaps.
  low = _pixel(image, ax, 0.35, 0.3)
  high = _pixel(image, ax, 1.35, 0.3)
  nan = _pixel(image, ax, 2.35, 0.3)
  assert np.all(np.abs(low.astype(int) - _VIRIDIS_LOW) <= 3), low
  assert np.all(np.abs(high.astype(int) - _VIRIDIS_HIGH) <= 3), high
  assert nan[0] == nan[1] == nan[2] and 190 <= nan[0] <= 235, nan
  # The number's ink contrasts: white on dark purple, black on yellow.
  middle_low = _region(image, ax, -0.3, -0.25, 0.3, 0.25)
  middle_high = _region(image, ax, 0.7, -0.25, 1.3, 0.25)
  assert _near(middle_low, (255, 255, 255), 40).sum() > 10
  assert _near(middle_high, (0, 0, 0), 60).sum() > 10
  assert not _near(middle_low, (0, 0, 0), 60).any()
  texts = [t.get_text() for t in ax.texts]
  # The NaN cell gets '-' even though it is marked.
  assert texts == ['0', '100*', '-']
  assert [t.get_text() for t in ax.get_xticklabels()] == [
      'low', 'high', 'none']
  # One row is too short for an upright colour bar label: it goes below.
  (colorbar,) = figure.axes[1:]
  assert colorbar.get_xlabel() == 'success rate (%)'
  assert colorbar.get_position().y1 < ax.get_position().y0


def test_heatmap_colorbar_is_upright_beside_tall_panels():
  figure = plots._heatmaps_figure(  # pylint: disable=protected-access
      [('a', np.zeros((6, 2)), None), ('b', np.ones((6, 2)), None)],
      [str(i) for i in range(6)], ['x', 'y'], colorbar_label='rate')
  plots._png_bytes(figure)  # pylint: disable=protected-access
  first, second, colorbar = figure.axes
  assert colorbar.get_ylabel() == 'rate'
  assert colorbar.get_position().x0 > first.get_position().x1
  # It serves both panels: it spans more than either one.
  assert colorbar.get_position().height > 1.2 * first.get_position().height
  assert first.get_position().y0 > second.get_position().y1


def test_heatmap_decimals_and_vmin_vmax():
  figure = plots._heatmaps_figure(  # pylint: disable=protected-access
      [('t', [[0.5, 0.25]], None)], ['r'], ['a', 'b'], vmin=0.0, vmax=0.5,
      decimals=2)
  image = _rgb(plots._png_bytes(figure))  # pylint: disable=protected-access
  ax = figure.axes[0]
  assert [t.get_text() for t in ax.texts] == ['0.50', '0.25']
  # 0.5 is vmax here, so it gets the top colour.
  high = _pixel(image, ax, 0.35, 0.3)
  assert np.all(np.abs(high.astype(int) - _VIRIDIS_HIGH) <= 3), high


def test_figure_size_grows_with_content(tmp_path):
  def heat(rows, cols):
    path = plots.heatmaps(tmp_path / f'h{rows}x{cols}.png',
                          [('t', np.full((rows, cols), 50.0), None)],
                          [f'r{i}' for i in range(rows)],
                          [f'c{j}' for j in range(cols)])
    return _rgb(path).shape[:2]

  small, wide, tall = heat(3, 3), heat(3, 12), heat(12, 3)
  assert wide[1] > small[1] + 300 and tall[0] > small[0] + 300
  two = plots.heatmaps(tmp_path / 'two.png',
                       [('a', np.zeros((3, 3)), None),
                        ('b', np.zeros((3, 3)), None)],
                       ['r0', 'r1', 'r2'], ['c0', 'c1', 'c2'])
  assert _rgb(two).shape[0] > small[0] + 100

  def grid(rows, cols, scale=1.0):
    path = plots.image_grid(tmp_path / f'g{rows}x{cols}x{scale}.png',
                            _gray_images(rows, cols),
                            [str(i) for i in range(rows)], scale=scale)
    return _rgb(path).shape[:2]

  base = grid(1, 2)
  assert grid(1, 6)[1] > base[1] + 400 and grid(4, 2)[0] > base[0] + 400
  assert grid(1, 2, scale=2.0)[0] > base[0] + 150


def test_image_grid_frames_are_red_and_green(tmp_path):
  images = _gray_images(2, 2)
  framed = _rgb(plots.image_grid(tmp_path / 'framed.png', images,
                                 ['clean', 'adv'],
                                 frames=[['ok', None], [None, 'bad']]))
  # A frame runs around a cell of 1.4 inches at 150 dpi, some pixels wide.
  assert _near(framed, _RED, 10).sum() > 1000
  assert _near(framed, _GREEN, 10).sum() > 1000
  plain = _rgb(plots.image_grid(tmp_path / 'plain.png', images,
                                ['clean', 'adv']))
  assert not _near(plain, _RED, 10).any()
  assert not _near(plain, _GREEN, 10).any()


def test_image_grid_shows_clipped_rounded_pixels_without_smoothing():
  rgb = np.zeros((4, 4, 3))
  rgb[0, 0] = (300.0, -5.0, 127.6)
  figure = plots._image_grid_figure(  # pylint: disable=protected-access
      [[np.full((4, 4, 1), 99.4, np.float32), rgb, None]], ['row'],
      ['gray', 'rgb', 'blank'], title='t')
  gray_ax, rgb_ax, blank_ax = figure.axes
  (gray,), (colour,) = gray_ax.images, rgb_ax.images
  np.testing.assert_array_equal(gray.get_array(), np.full((4, 4), 99))
  assert gray.get_cmap().name == 'gray' and gray.get_clim() == (0, 255)
  assert gray.get_interpolation() == 'nearest'
  assert colour.get_array().dtype == np.uint8
  np.testing.assert_array_equal(colour.get_array()[0, 0], (255, 0, 128))
  assert not blank_ax.images
  assert gray_ax.get_ylabel() == 'row' and blank_ax.get_title() == 'blank'
  assert not gray_ax.get_xticks().size and not gray_ax.get_yticks().size


def test_attention_grid_overlays_jet_with_alpha_and_a_colorbar():
  black = np.zeros((8, 8, 3))
  figure = plots._attention_grid_figure(  # pylint: disable=protected-access
      [[black, black]], [[np.ones((8, 8)), np.zeros((2, 2))]], ['r'],
      ['hot', 'cold'], alpha=0.5)
  image = _rgb(plots._png_bytes(figure))  # pylint: disable=protected-access
  hot_ax, cold_ax = figure.axes[:2]
  # jet(1) is (128, 0, 0) and jet(0) is (0, 0, 128); half over black.
  hot = _pixel(image, hot_ax, 3.5, 3.5)
  cold = _pixel(image, cold_ax, 3.5, 3.5)
  assert np.all(np.abs(hot.astype(int) - (64, 0, 0)) <= 3), hot
  assert np.all(np.abs(cold.astype(int) - (0, 0, 64)) <= 3), cold
  colorbars = [a for a in figure.axes[2:] if a.get_ylabel() == 'attention']
  assert len(colorbars) == 1


def test_line_plot_styles_ticks_and_gaps():
  figure = plots._line_plot_figure(  # pylint: disable=protected-access
      [0, 1, 2], {'FIA': [10, np.nan, 30], 'baseline': [5, 6, 7]},
      title='sweep', xlabel='layer', ylabel='success rate (%)',
      xticklabels=['conv1', 'a_long_layer_name', 'feat'], ylim=(0, 100),
      styles={'baseline': {'linestyle': '--'}})
  ax = figure.axes[0]
  fia, baseline = ax.lines
  assert fia.get_linestyle() == '-' and baseline.get_linestyle() == '--'
  assert fia.get_marker() != 'None' and baseline.get_marker() != 'None'
  assert np.isnan(fia.get_ydata()[1])
  assert [t.get_text() for t in ax.get_xticklabels()] == [
      'conv1', 'a_long_layer_name', 'feat']
  assert ax.get_xticklabels()[1].get_rotation() == 45
  assert ax.get_ylim() == (0, 100)
  assert [t.get_text() for t in ax.get_legend().get_texts()] == [
      'FIA', 'baseline']
  assert ax.get_title() == 'sweep' and ax.get_xlabel() == 'layer'


_GOOD_HEAT = ([('t', np.zeros((2, 3)), None)], ['a', 'b'], ['x', 'y', 'z'])


@pytest.mark.parametrize('change, message', [
    ({'row_labels': ['a']}, r'panels\[0\] values has shape \(2, 3\)'),
    ({'col_labels': ['x', 'y']}, r'panels\[0\] values has shape'),
    ({'panels': []}, r'panels is empty'),
    ({'panels': [('t', np.zeros((2, 3)), np.zeros((3, 2)))]},
     r'panels\[0\] marks has shape \(3, 2\)'),
    ({'panels': [('t', np.zeros((2, 3)))]}, r'panels\[0\] must be'),
    ({'row_labels': []}, r'row_labels is empty'),
    ({'vmin': 5.0, 'vmax': 5.0}, r'vmin must be below vmax, got vmin=5.0'),
    ({'decimals': -1}, r'decimals must be .* got -1'),
])
def test_heatmaps_rejects_inconsistent_arguments(tmp_path, change, message):
  args = dict(zip(('panels', 'row_labels', 'col_labels'), _GOOD_HEAT))
  args.update(change)
  with pytest.raises(ValueError, match=message):
    plots.heatmaps(tmp_path / 'x.png', args.pop('panels'),
                   args.pop('row_labels'), args.pop('col_labels'), **args)
  assert not (tmp_path / 'x.png').exists()


@pytest.mark.parametrize('change, message', [
    ({'row_labels': ['a']}, r"row_labels has 1 labels but images has 2"),
    ({'col_labels': ['x']}, r'col_labels has 1 labels'),
    ({'images': [[np.zeros((4, 4))] * 2, [np.zeros((4, 4))]]},
     r'images\[1\] has 1 cells, expected 2'),
    ({'images': [[np.zeros((4, 4, 2))] * 2] * 2},
     r'images\[0\]\[0\] has shape \(4, 4, 2\)'),
    ({'images': [[None] * 2] * 2}, r'images has no image'),
    ({'images': []}, r'images is empty'),
    ({'frames': [['ok', 'good'], [None, None]]},
     r"frames\[0\]\[1\] must be None, 'ok' or 'bad', got 'good'"),
    ({'frames': [['ok', None]]}, r'frames has 1 rows, expected 2'),
    ({'frames': [[['ok'], None], [None, None]]},
     r"frames\[0\]\[0\] must be None, 'ok' or 'bad', got \['ok'\]"),
    ({'scale': 0}, r'scale must be a positive number, got 0'),
])
def test_image_grid_rejects_inconsistent_arguments(tmp_path, change,
                                                    message):
  args = {'images': [[np.zeros((4, 4))] * 2] * 2, 'row_labels': ['a', 'b'],
          'col_labels': ['x', 'y']}
  args.update(change)
  with pytest.raises(ValueError, match=message):
    plots.image_grid(tmp_path / 'x.png', args.pop('images'),
                     args.pop('row_labels'), **args)


@pytest.mark.parametrize('change, message', [
    ({'maps': [[np.zeros((4, 4))] * 2]}, r'maps has 1 rows, expected 2'),
    ({'maps': [[np.zeros((4, 4))] * 2, [np.zeros((4, 4, 3))] * 2]},
     r'maps\[1\]\[0\] has shape \(4, 4, 3\)'),
    ({'images': [[np.zeros((4, 4)), None]] * 2},
     r'maps\[0\]\[1\] is given but images\[0\]\[1\] is None'),
    ({'alpha': 1.5}, r'alpha must be a number in \[0, 1\], got 1.5'),
    ({'maps': None}, r'maps must be a list of rows'),
])
def test_attention_grid_rejects_inconsistent_arguments(tmp_path, change,
                                                        message):
  args = {'images': [[np.zeros((4, 4))] * 2] * 2,
          'maps': [[np.zeros((4, 4))] * 2] * 2, 'row_labels': ['a', 'b']}
  args.update(change)
  with pytest.raises(ValueError, match=message):
    plots.attention_grid(tmp_path / 'x.png', args.pop('images'),
                         args.pop('maps'), args.pop('row_labels'), **args)


@pytest.mark.parametrize('change, message', [
    ({'series': {'a': [1, 2]}}, r"series\['a'\] has 2 values, expected 3"),
    ({'series': {}}, r'series must be a non-empty dict'),
    ({'x': []}, r'x must be a non-empty 1-D sequence'),
    ({'xticklabels': ['p', 'q']}, r'xticklabels has 2 labels but x has 3'),
    ({'styles': {'b': {'linestyle': '--'}}},
     r"styles has a style for 'b', which is not in series"),
    ({'ylim': (5, 1)}, r'ylim must be \(low, high\) with low < high'),
])
def test_line_plot_rejects_inconsistent_arguments(tmp_path, change, message):
  args = {'x': [0, 1, 2], 'series': {'a': [1, 2, 3]}}
  args.update(change)
  with pytest.raises(ValueError, match=message):
    plots.line_plot(tmp_path / 'x.png', args.pop('x'), args.pop('series'),
                    title='t', xlabel='x', ylabel='y', **args)


def test_without_matplotlib_import_works_and_drawing_says_how_to_install(
    monkeypatch, tmp_path):
  for name in [n for n in sys.modules if n.split('.')[0] == 'matplotlib']:
    monkeypatch.setitem(sys.modules, name, None)
  monkeypatch.setitem(sys.modules, 'matplotlib', None)
  bare = _load('fia_plots_without_matplotlib')
  assert bare.available() is False
  calls = [
      lambda: bare.heatmaps(tmp_path / 'h.png', *_GOOD_HEAT),
      lambda: bare.image_grid(tmp_path / 'g.png', [[np.zeros((4, 4))]],
                              ['a']),
      lambda: bare.attention_grid(tmp_path / 'a.png', [[np.zeros((4, 4))]],
                                  [[np.zeros((4, 4))]], ['a']),
      lambda: bare.line_plot(tmp_path / 'l.png', [0], {'a': [0]}, title='t',
                             xlabel='x', ylabel='y'),
  ]
  for call in calls:
    with pytest.raises(ImportError, match=r"pip install 'fia_tf\[plots\]'.*"
                       r'make install'):
      call()
  assert not list(tmp_path.iterdir())
