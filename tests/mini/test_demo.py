"""A fast smoke run of the demo pipeline on a few images: attacks, table,
files, figures; determinism and batch independence."""

import csv
import dataclasses

import numpy as np
import pytest

from fia_tf.mini import ablation
from fia_tf.mini import demo
from fia_tf.mini import png

SMALL = demo.DemoConfig(sources=('vgg',),
                        targets=('vgg', 'resnet_v1', 'ens3_adv_inception'),
                        num_images=5, ens=2, num_iter=3, batch_size=5)


@pytest.fixture(scope='module')
def run(tmp_path_factory):
  out = tmp_path_factory.mktemp('mini')
  lines = []
  # Fewer images than the figures show: they must cope.
  summary = demo.run_demo(SMALL, out, log=lines.append)
  return out, summary, lines


def test_writes_every_output(run):
  out, _, _ = run
  for name in ('table.md', 'table.csv', 'summary.json', 'heatmap.png',
               'examples.png', 'attention.png'):
    assert (out / name).stat().st_size > 0, name
  import imageio.v2 as imageio  # pylint: disable=g-import-not-at-top
  assert imageio.imread(out / 'heatmap.png').ndim == 3


def test_table_has_every_cell(run):
  out, summary, lines = run
  with open(out / 'table.csv') as f:
    rows = list(csv.DictReader(f))
  # 6 non-FIA methods x 3 targets; FIA and FIA+PIDIM: normal targets with
  # keep 0.7, the defence with keep 0.9.
  assert len(rows) == 8 * 3
  fia = [r for r in rows if r['method'] == 'FIA']
  assert {(r['target'], r['keep_prob']) for r in fia} == {
      ('vgg', '0.7'), ('resnet_v1', '0.7'), ('ens3_adv_inception', '0.9')}
  for r in rows:
    assert 0 <= float(r['changed']) <= 100 and 0 <= float(r['wrong']) <= 100
  text = (out / 'table.md').read_text()
  assert 'avg normal (black-box)' in text and 'FIA+PIDIM' in text
  assert set(summary['method_means']['changed']) == set(demo.METHODS)
  assert any('ETA' in line for line in lines)


def test_white_box_attack_works(run):
  out, _, _ = run
  with open(out / 'table.csv') as f:
    rows = [r for r in csv.DictReader(f)
            if r['target'] == 'vgg' and r['method'] == 'MIM']
  assert float(rows[0]['changed']) >= 50


def test_deterministic_and_batch_independent():
  config = dataclasses.replace(SMALL, methods=('DIM', 'FIA'),
                               targets=('resnet_v1',), num_images=4)
  rows_a, extras_a = demo.run_transfer(config, log=None,
                                       keep_images=[('vgg', 'FIA')])
  rows_b, extras_b = demo.run_transfer(
      dataclasses.replace(config, batch_size=3), log=None,
      keep_images=[('vgg', 'FIA')])
  assert rows_a == rows_b
  np.testing.assert_array_equal(extras_a['adversarial'][('vgg', 'FIA')],
                                extras_b['adversarial'][('vgg', 'FIA')])
  adv = extras_a['adversarial'][('vgg', 'FIA')]
  assert np.max(np.abs(adv - extras_a['images'])) <= config.eps + 1e-3


def test_ablation_smoke(tmp_path):
  config = ablation.AblationConfig(
      layers=('block1_conv1_relu', 'block2_conv2_relu'), ens_values=(0, 2),
      keep_values=(0.9,), settings=dataclasses.replace(
          SMALL, targets=('resnet_v1', 'ens3_adv_inception'), num_images=4))
  results = ablation.run_ablation(config, tmp_path, log=None)
  assert [v for v, _ in results['N']] == [0, 2]
  for name in ('ablation.md', 'ablation.csv', 'ablation_layer.png',
               'ablation_n.png', 'ablation_drop.png'):
    assert (tmp_path / name).stat().st_size > 0


def test_png_helpers():
  image = png.heatmap(np.array([[0.0, 50.0], [np.nan, 100.0]]), ['A', 'B'],
                      ['X', 'Y'], title='T')
  assert image.dtype == np.uint8 and image.shape[2] == 3
  plot = png.line_plot([1, 2, 3], {'s': [1.0, np.nan, 90.0]}, title='P')
  assert plot.dtype == np.uint8
  assert (png.colormap([0.0, 1.0]) != png.colormap([1.0, 0.0])).any()
