"""The paper grid in-process on the tiny zoo: sets, tables, resumption."""

import json

import numpy as np
import pytest

from fia_tf.data import images as images_lib
from fia_tf.evaluation import defences
from fia_tf.runs import grid as grid_lib
from tests.helpers.checks import labels_of
from tests.helpers.checks import predict
from tests.helpers.checks import read_png
from tests.helpers.paths import CONFIGS
from tests.helpers.paths import IMAGES
from tests.helpers.paths import REPO

NAMES = ['1.png', '2.png', '44.png', '50.png']


@pytest.fixture(scope='module')
def dry(tmp_path_factory):
  grid = grid_lib.load('dry_run', root=REPO, config_dir=CONFIGS)
  grid = grid_lib.select(grid, sources=['tiny_vgg'], methods=['MIM', 'FIA'])
  out = tmp_path_factory.mktemp('grid')
  tables = grid_lib.run(grid, out, progress_every=0.0)
  return grid, out, tables


def test_sets_follow_the_keep_probabilities(dry):
  grid, out, _ = dry
  names = [s.name for s in grid.attack_sets()]
  assert names == ['tiny_vgg/MIM', 'tiny_vgg/FIA_p0.7', 'tiny_vgg/FIA_p0.9']
  groups = {s.name: s.groups for s in grid.attack_sets()}
  assert groups['tiny_vgg/FIA_p0.9'] == ('defended',)
  assert groups['tiny_vgg/MIM'] == ('normal', 'defended')
  for name in names:
    record = json.loads((out / 'adv' / name / 'run.json').read_text())
    assert record['status'] == 'complete' and record['written'] == 4
    assert record['machine']['cpu'] and record['versions']['tensorflow']


def test_tables_match_an_independent_recount(dry):
  grid, out, tables = dry
  ckpt = out / 'checkpoints'
  truth = labels_of(NAMES)
  gt = np.array([truth[n] for n in NAMES])
  clean_images = [read_png(IMAGES / n) for n in NAMES]
  changed = tables['success_changed']
  correct = tables['success_correct']
  for target in grid.all_targets:
    clean = predict(target, ckpt, clean_images)
    for method in grid.methods:
      keep = '' if method == 'MIM' else (
          '_p0.9' if target == 'tiny_adv_inception' else '_p0.7')
      adv = predict(target, ckpt, [read_png(out / 'adv' / 'tiny_vgg' /
                                            f'{method}{keep}' / n)
                                   for n in NAMES])
      label = f'tiny_vgg / {method}'
      assert changed.cell(label, target) == pytest.approx(
          np.mean(adv != clean))
      right = clean == gt
      expected = np.mean((adv != gt)[right]) if right.any() else np.nan
      assert correct.cell(label, target) == pytest.approx(expected,
                                                          nan_ok=True)
  for stem in ('table_changed', 'table_wrong', 'table_correct'):
    for suffix in ('.md', '.csv', '.json', '.png'):
      assert (out / f'{stem}{suffix}').stat().st_size > 0
  record = json.loads((out / grid_lib.RECORD_FILE).read_text())
  assert record['images'] == 4 and 'machine' in record


def test_second_run_reattacks_nothing(dry):
  grid, out, tables = dry
  stamps = {p: p.stat().st_mtime_ns for p in (out / 'adv').rglob('*.png')}
  again = grid_lib.run(grid, out, progress_every=0.0)
  assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
  np.testing.assert_array_equal(again['success_changed'].values,
                                tables['success_changed'].values)


def test_config_errors_name_the_file_and_key(tmp_path):
  bad = tmp_path / 'bad.json'
  bad.write_text(json.dumps({'sources': ['tiny_vgg'], 'methods': ['MIMX'],
                             'targets': ['tiny_vgg'], 'input_dir': 'x'}))
  with pytest.raises(grid_lib.ConfigError, match=r"bad.json.*'MIMX'"):
    grid_lib.load(bad)
  bad.write_text(json.dumps({'sources': ['tiny_vgg'], 'methods': ['MIM'],
                             'targets': ['tiny_vgg'], 'input_dir': 'x',
                             'colour': 1}))
  with pytest.raises(grid_lib.ConfigError, match="unknown key.*colour"):
    grid_lib.load(bad)
  with pytest.raises(grid_lib.ConfigError, match='does not exist'):
    grid_lib.load('nope', config_dir=tmp_path)
  bad.write_text(json.dumps({'sources': ['tiny_vgg'], 'methods': ['BFA'],
                             'targets': ['tiny_vgg'], 'input_dir': 'x',
                             'method_settings': {'FIA': {'ens': 2}}}))
  with pytest.raises(grid_lib.ConfigError,
                     match=r"bad.json.*settings for \['FIA'\]"):
    grid_lib.load(bad)
  bad.write_text(json.dumps({'sources': ['tiny_vgg'], 'methods': ['BFA'],
                             'targets': ['tiny_vgg'], 'input_dir': 'x',
                             'method_settings': ['BFA']}))
  with pytest.raises(grid_lib.ConfigError, match='"method_settings" must'):
    grid_lib.load(bad)


def test_method_settings_reach_their_sets_and_survive_select():
  grid = grid_lib.load('dry_run', root=REPO, config_dir=CONFIGS)
  configs = {s.name: s.config for s in grid.attack_sets()}
  assert configs['tiny_vgg/BFA'].option('bfa_eta') == 3.0
  assert configs['tiny_inception/RPA_p0.9'].keep_prob == 0.9
  assert configs['tiny_vgg/MIM'].options == ()
  # Selecting methods drops the others' settings instead of failing.
  only = grid_lib.select(grid, methods=['MIM'])
  assert [s.name for s in only.attack_sets()] == ['tiny_inception/MIM',
                                                 'tiny_vgg/MIM']
  kept = grid_lib.select(grid, methods=['BFA'])
  assert kept.attack_sets()[0].config.option('bfa_eta') == 3.0


def test_paper_grid_has_the_family():
  grid = grid_lib.load('paper', root=REPO, config_dir=CONFIGS)
  for method in ('NAA', 'RPA', 'DANAA', 'ILPD', 'BFA', 'P2FA'):
    assert method in grid.methods
  names = [s.name for s in grid.attack_sets()]
  assert 'vgg_16/RPA_p0.9' in names and 'vgg_16/BFA' in names


def test_defended_targets_in_the_grid(tmp_path):
  grid = grid_lib.load('dry_run', root=REPO, config_dir=CONFIGS, overrides={
      'targets': {'normal': ['tiny_vgg', 'tiny_vgg+jpeg75'],
                  'defended': ['tiny_adv_inception+rp+median3']}})
  grid = grid_lib.select(grid, sources=['tiny_vgg'], methods=['MIM'])
  assert grid_lib.models_of(grid.all_targets) == ['tiny_vgg',
                                                  'tiny_adv_inception']
  tables = grid_lib.run(grid, tmp_path, progress_every=0.0)
  ckpt = tmp_path / 'checkpoints'
  truth = labels_of(NAMES)
  clean_images = np.stack([read_png(IMAGES / n) for n in NAMES])
  adv_images = np.stack([read_png(tmp_path / 'adv' / 'tiny_vgg' / 'MIM' / n)
                         for n in NAMES])
  changed = tables['success_changed']
  correct = tables['success_correct']
  # Independent recount: the defence by hand, then the plain model.
  jpeg = defences.make('jpeg75')
  clean = predict('tiny_vgg', ckpt, list(jpeg(images_lib.resize(
      clean_images, 24))))
  adv = predict('tiny_vgg', ckpt, list(jpeg(images_lib.resize(adv_images,
                                                              24))))
  assert changed.cell('tiny_vgg / MIM', 'tiny_vgg+jpeg75') == pytest.approx(
      np.mean(adv != clean))
  right = clean == np.array([truth[n] for n in NAMES])
  assert correct.count('tiny_vgg / MIM', 'tiny_vgg+jpeg75') == right.sum()
  assert 'tiny_adv_inception+rp+median3' in changed.col_labels
  text = (tmp_path / 'table_correct.md').read_text()
  assert f'(n={right.sum()})' in text
  header = (tmp_path / 'table_correct.csv').read_text().splitlines()[0]
  assert 'tiny_vgg+jpeg75,tiny_vgg+jpeg75 (n)' in header


def test_grid_config_names_a_bad_defence(tmp_path):
  with pytest.raises(grid_lib.ConfigError,
                     match=r"dry_run.json.*'tiny_vgg\+jpg75'.*unknown "
                     r"defence 'jpg75'"):
    grid_lib.load('dry_run', root=REPO, config_dir=CONFIGS, overrides={
        'targets': {'normal': ['tiny_vgg+jpg75']}})


def test_input_defences_config_wraps_slim_models():
  grid = grid_lib.load('input_defences', root=REPO, config_dir=CONFIGS)
  assert 'inception_v3+fd' in grid.targets['defended']
  assert grid_lib.models_of(grid.all_targets) == ['inception_v3',
                                                  'inception_resnet_v2']
  names = [s.name for s in grid.attack_sets()]
  assert 'vgg_16/FIA_p0.9' in names and 'vgg_16/MIM' in names
