"""reproduce.py: the dry-run grid end to end, skipping done work, no-checkpoint stop."""

import csv
import json

import numpy as np
import pytest

from tests.helpers.binaries import environment
from tests.helpers.binaries import run
from tests.helpers.binaries import run_all
from tests.helpers.checks import labels_of
from tests.helpers.checks import predict
from tests.helpers.checks import read_png
from tests.helpers.checks import resize
from tests.helpers.paths import IMAGES

NAMES = ['1.png', '2.png', '44.png', '50.png']
SOURCES = ['tiny_inception', 'tiny_vgg']
METHODS = ['MIM', 'PIDIM', 'FDA', 'FIA', 'FIA+PIDIM', 'RPA', 'BFA']
# Methods whose parts read keep_prob: one set per keep probability.
KEEP_METHODS = ('FIA', 'FIA+PIDIM', 'RPA')
TARGETS = ['tiny_inception', 'tiny_vgg', 'tiny_adv_inception']
SIZES = {'tiny_inception': 32, 'tiny_vgg': 24}


@pytest.fixture(scope='module')
def dry_run(tmp_path_factory):
  out = tmp_path_factory.mktemp('reproduce')
  result = run('reproduce.py', '--dry_run', f'--output_dir={out}')
  return out, result


def _csv_table(path):
  with open(path, newline='') as f:
    rows = list(csv.reader(f))
  return rows[0], {r[0]: r[1:] for r in rows[1:]}


def test_sets_and_layout(dry_run):
  out, result = dry_run
  for source in SOURCES:
    sets = sorted(p.name for p in (out / 'adv' / source).iterdir())
    # FIA and RPA: one set per keep probability (0.7 normal, 0.9 defended).
    assert sets == sorted(['MIM', 'PIDIM', 'FDA', 'FIA_p0.7', 'FIA_p0.9',
                           'FIA+PIDIM_p0.7', 'FIA+PIDIM_p0.9', 'RPA_p0.7',
                           'RPA_p0.9', 'BFA'])
    for directory in (out / 'adv' / source).iterdir():
      record = json.loads((directory / 'run.json').read_text())
      assert record['status'] == 'complete' and record['images'] == 4
      if directory.name.startswith(('FIA', 'RPA')):
        assert record['config']['keep_prob'] == float(directory.name[-3:])
      # The config's method_settings reach BFA's sets and no other.
      options = record['config'].get('options') or {}
      assert (options.get('bfa_eta') == 3.0) == (directory.name == 'BFA')
  header, rows = _csv_table(out / 'table_changed.csv')
  assert header == ['source/method'] + TARGETS
  expected_rows = []
  for source in SOURCES:
    expected_rows += [f'{source} / {m}' for m in METHODS]
    expected_rows.append(f'{source} / zero perturbation')
  assert list(rows) == expected_rows
  heatmap = read_png(out / 'table_changed.png')
  assert heatmap.ndim == 3 and heatmap.shape[2] in (3, 4)
  assert heatmap.shape[0] > 12 * 22  # one cell row per table row
  for name in ('results.md', 'table_wrong.csv', 'table_wrong.md',
               'table_changed.md', 'table_changed.json', 'table_correct.md',
               'table_correct.csv', 'evaluation.csv', 'reproduce.json'):
    assert (out / name).is_file()
  assert '| tiny_vgg / FIA |' in (out / 'results.md').read_text()
  assert '| tiny_vgg / FIA |' in result.stdout


def test_table_cells_match_an_independent_recount(dry_run):
  out, _ = dry_run
  ckpt = out / 'checkpoints'
  _, changed = _csv_table(out / 'table_changed.csv')
  _, wrong = _csv_table(out / 'table_wrong.csv')
  truth = labels_of(NAMES)
  gt = np.array([truth[n] for n in NAMES])
  clean_images = [read_png(IMAGES / n) for n in NAMES]
  clean = {t: predict(t, ckpt, clean_images) for t in TARGETS}
  for source in SOURCES:
    for method in METHODS:
      for j, target in enumerate(TARGETS):
        set_name = method
        if method in KEEP_METHODS:
          keep = '0.9' if target == 'tiny_adv_inception' else '0.7'
          set_name = f'{method}_p{keep}'
        directory = out / 'adv' / source / set_name
        adv = predict(target, ckpt, [read_png(directory / n) for n in NAMES])
        label = f'{source} / {method}'
        assert float(changed[label][j]) == pytest.approx(
            100 * np.mean(adv != clean[target]), abs=0.051), (label, target)
        assert float(wrong[label][j]) == pytest.approx(
            100 * np.mean(adv != gt), abs=0.051), (label, target)
    control_images = [np.rint(resize(x, SIZES[source])) for x in clean_images]
    for j, target in enumerate(TARGETS):
      control = predict(target, ckpt, control_images)
      assert float(changed[f'{source} / zero perturbation'][j]) == \
          pytest.approx(100 * np.mean(control != clean[target]), abs=0.051)
  # The white-box cells show that the attacks do something.
  assert float(changed['tiny_vgg / MIM'][1]) > 0


def test_second_run_skips_done_work(dry_run):
  out, _ = dry_run
  before = (out / 'table_changed.csv').read_text()
  stamps = {p: p.stat().st_mtime_ns for p in (out / 'adv').rglob('*.png')}
  result = run('reproduce.py', '--dry_run', f'--output_dir={out}')
  assert result.stderr.count('complete, skipped') == 20
  assert 'loading source model' not in result.stderr
  assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
  assert (out / 'table_changed.csv').read_text() == before


def test_without_checkpoints_it_stops_at_once(tmp_path):
  env = environment(FIA_TF_CHECKPOINTS=tmp_path / 'none')
  (code, stdout, stderr), (code2, _, stderr2) = run_all([
      ('reproduce.py', [f'--output_dir={tmp_path / "r"}'], env),
      ('reproduce.py', ['--config=nope', f'--output_dir={tmp_path / "r"}'],
       env)])
  assert code == 3, stderr
  assert stderr.strip().splitlines()[-1].startswith(
      'error: No checkpoint for inception_v3: extract http://download.'
      'tensorflow.org/models/inception_v3_2016_08_28.tar.gz')
  assert 'make checkpoints' in stderr and 'Traceback' not in stderr
  assert not (tmp_path / 'r').exists()
  assert code2 == 2 and 'does not exist' in stderr2
  assert 'Traceback' not in stderr2
