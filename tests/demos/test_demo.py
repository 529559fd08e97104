"""A fast run of the mini demo on a few images: attacks, tables, files,
figures; determinism and batch independence."""

import csv
import dataclasses
import json

import imageio.v3 as iio
import numpy as np
import pytest

from fia_tf.demos.mini import ablation
from fia_tf.demos.mini import demo
from tests.helpers.paths import FASHION_SUBSET
from tests.helpers.paths import MINI_MODELS

SMALL = demo.DemoConfig(sources=('vgg',),
                        targets=('vgg', 'resnet_v1', 'ens3_adv_inception'),
                        num_images=5, ens=2, num_iter=3, batch_size=5,
                        model_dir=str(MINI_MODELS),
                        subset_path=str(FASHION_SUBSET))


@pytest.fixture(scope='module')
def run(tmp_path_factory):
  out = tmp_path_factory.mktemp('mini')
  lines = []
  # Fewer images than the figures show: they must cope.
  summary = demo.run_demo(SMALL, out, log=lines.append)
  return out, summary, lines


def test_writes_every_output(run):
  out, _, _ = run
  for name in ('results.md', 'evaluation.csv', 'summary.json',
               'table_changed.md', 'table_changed.csv', 'table_changed.json',
               'table_wrong.md', 'table_correct.md', 'heatmap.png',
               'examples.png', 'attention.png'):
    assert (out / name).stat().st_size > 0, name
  for name in ('heatmap.png', 'examples.png', 'attention.png'):
    image = iio.imread(out / name)
    assert image.ndim == 3 and len(np.unique(image.reshape(-1, 
                                                           image.shape[2]),
                                             axis=0)) > 10, name


def test_table_has_every_cell(run):
  out, summary, lines = run
  with open(out / 'evaluation.csv') as f:
    rows = list(csv.DictReader(f))
  # 6 baselines, FIA, FIA+PIDIM and 6 successors, x 3 targets; FIA,
  # FIA+PIDIM and RPA: normal targets with keep 0.7, the defence with 0.9.
  assert len(rows) == 14 * 3
  for method in ('FIA', 'RPA'):
    fia = [r for r in rows if r['method'] == method]
    assert {(r['target'], r['keep_prob']) for r in fia} == {
        ('vgg', '0.7'), ('resnet_v1', '0.7'), ('ens3_adv_inception', '0.9')}
  for r in rows:
    for metric in ('success_changed', 'success_wrong', 'success_correct'):
      assert 0 <= float(r[metric]) <= 1
    assert int(r['n']) == 5 and 0 <= int(r['n_correct']) <= 5
  text = (out / 'results.md').read_text()
  assert 'avg normal (black-box)' in text and 'FIA+PIDIM' in text
  assert set(summary['method_means']['changed']) == set(demo.METHODS)
  assert any('ETA' in line for line in lines)
  table = json.loads((out / 'table_changed.json').read_text())
  assert table['rows'][0] == 'vgg / MIM' and table['columns'][:3] == list(
      SMALL.targets)


def test_family_settings_are_data():
  """BFA's and P2FA's L2 step is scaled to 28x28x1 images; no other
  method gets a part option it does not have."""
  sets = {s.name: s.config for s in demo.plan(SMALL)}
  # Same RMS step per pixel and channel as 28 on 299x299x3 images.
  for name, option in (('vgg/BFA', 'bfa_eta'), ('vgg/P2FA', 'p2fa_eta')):
    eta = sets[name].option(option)
    assert eta / np.sqrt(28 * 28) == pytest.approx(28 / np.sqrt(299 * 299 * 3))
  assert sets['vgg/MIM'].options == ()
  assert sets['vgg/NAA'].option('naa_noise_std') == 0.2
  # A run without BFA must not trip over BFA's settings.
  assert [s.name for s in demo.plan(SMALL, methods=['MIM'])] == ['vgg/MIM']


def test_white_box_attack_works(run):
  out, _, _ = run
  with open(out / 'evaluation.csv') as f:
    rows = [r for r in csv.DictReader(f)
            if r['target'] == 'vgg' and r['method'] == 'MIM']
  assert float(rows[0]['success_changed']) >= 0.5


def test_rates_are_those_of_the_adversarial_images():
  """The runner's rates recomputed from its own adversarial images."""
  config = dataclasses.replace(SMALL, methods=('MIM',),
                               targets=('resnet_v1',), num_images=5)
  result, data = demo.run_transfer(config, log=None)
  adv = result.adversarial['vgg/MIM']
  model = data['models']['resnet_v1']
  pred = lambda x: np.argmax(model(x / 255.0, training=False), -1)
  clean, attacked = pred(data['images']), pred(adv)
  (row,) = result.rows
  assert row['success_changed'] == pytest.approx(np.mean(attacked != clean))
  assert row['success_wrong'] == pytest.approx(
      np.mean(attacked != data['labels']))
  assert row['clean_accuracy'] == pytest.approx(
      np.mean(clean == data['labels']))


def test_deterministic_and_batch_independent():
  config = dataclasses.replace(SMALL, methods=('DIM', 'FIA'),
                               targets=('resnet_v1',), num_images=4)
  a, data = demo.run_transfer(config, log=None)
  b, _ = demo.run_transfer(dataclasses.replace(config, batch_size=3),
                           log=None)
  assert a.rows == b.rows
  np.testing.assert_array_equal(a.adversarial['vgg/FIA_p0.7'],
                                b.adversarial['vgg/FIA_p0.7'])
  adv = a.adversarial['vgg/FIA_p0.7']
  assert np.max(np.abs(adv - data['images'])) <= config.eps + 1e-3


def test_ablation_smoke(tmp_path):
  config = ablation.AblationConfig(
      layers=('block1_conv1_relu', 'block2_conv2_relu'), ens_values=(0, 2),
      keep_values=(0.9,), settings=dataclasses.replace(
          SMALL, targets=('resnet_v1', 'ens3_adv_inception'), num_images=4))
  results = ablation.run_ablation(config, tmp_path, log=None)
  assert [v for v, _ in results['N']] == [0, 2]
  assert [v for v, _ in results['layer']] == list(config.layers)
  for name in ('ablation.md', 'ablation.csv', 'ablation_layer.png',
               'ablation_n.png', 'ablation_drop.png'):
    assert (tmp_path / name).stat().st_size > 0
