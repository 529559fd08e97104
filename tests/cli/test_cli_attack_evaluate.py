"""attack.py and evaluate.py end to end on the tiny zoo, numbers rechecked."""

import csv
import json
import os
import shutil
import signal
import subprocess
import time

import numpy as np
import pytest

from fia_tf.evaluation import defences
from tests.helpers.binaries import TINY
from tests.helpers.binaries import command
from tests.helpers.binaries import environment
from tests.helpers.binaries import run
from tests.helpers.checks import labels_of
from tests.helpers.checks import predict
from tests.helpers.checks import read_png
from tests.helpers.checks import resize
from tests.helpers.paths import IMAGES
from tests.helpers.paths import LABELS

NAMES = ['1.png', '2.png', '44.png', '50.png']


@pytest.fixture(scope='module')
def attacked(tmp_path_factory, checkpoints):
  """tiny_vgg (24 px, 1000 classes) FIA+DIM on the four test images."""
  out = tmp_path_factory.mktemp('adv') / 'fia'
  result = run('attack.py', TINY, '--model_name=tiny_vgg',
               '--attack_method=FIA+DIM', f'--input_dir={IMAGES}',
               f'--labels={LABELS}', f'--output_dir={out}',
               f'--checkpoint_dir={checkpoints}', '--batch_size=3',
               '--ens=8', '--num_iter=5', '--probb=0.7')
  return out, result


def test_attack_writes_rounded_pngs_within_eps(attacked):
  out, result = attacked
  assert '4 written, 0 already done, 0 skipped' in result.stdout
  assert sorted(p.name for p in out.glob('*.png')) == sorted(NAMES)
  assert not list(out.glob('.*'))  # no temporary files left
  for name in NAMES:
    adv = read_png(out / name)
    assert adv.dtype == np.uint8 and adv.shape == (24, 24, 3)
    # The attack perturbs the clean image as the save path makes it:
    # resized to 24 px and rounded; eps holds exactly in saved pixels.
    clean = np.rint(resize(read_png(IMAGES / name), 24))
    delta = np.abs(adv.astype(np.float64) - clean)
    assert delta.max() <= 16
    assert delta.max() > 0


def test_attack_png_is_rint_of_the_library_result(attacked, checkpoints):
  import fia_tf  # pylint: disable=import-outside-toplevel
  from fia_tf.zoo import registry  # pylint: disable=import-outside-toplevel
  out, _ = attacked
  spec = registry.get_spec('tiny_vgg')
  source = spec.source_model(checkpoint_dir=checkpoints)
  attack = fia_tf.Attack(source, fia_tf.AttackConfig(
      method='FIA+DIM', ens=8, num_iter=5, keep_prob=0.7))
  first = NAMES[:3]  # the first batch of batch_size 3, in id order
  clean = np.stack([np.rint(resize(read_png(IMAGES / n), 24)) for n in first])
  labels = np.array([labels_of(first)[n] - 1 for n in first], np.int32)
  ids = np.array([int(n[:-4]) for n in first], np.int64)
  expected = np.asarray(attack(clean, labels, ids))
  for name, pixels in zip(first, expected):
    saved = read_png(out / name).astype(np.float64)
    np.testing.assert_array_equal(saved, np.clip(np.rint(pixels), 0, 255))
    # Truncation would differ wherever the fraction is >= 0.5.
    assert np.any(np.floor(pixels) != saved)


def test_run_json_records_resolved_configuration(attacked):
  out, _ = attacked
  record = json.loads((out / 'run.json').read_text())
  assert record['status'] == 'complete'
  assert record['model_name'] == 'tiny_vgg'
  assert record['image_size'] == 24           # from the model, not 224
  assert record['layer_name'] == 'tiny_net/block/Relu'  # the model's layer
  assert record['feature_layer'] == 'tiny_net.block.Relu'
  assert record['config']['method'] == 'FIADIM'
  assert record['config']['keep_prob'] == 0.7
  assert record['config']['ens'] == 8 and record['config']['eps'] == 16
  assert record['seed'] == 0 and record['label_offset'] == -1
  assert record['images'] == 4 and record['written'] == 4
  assert record['id_rule'].startswith('image_id = k of k.png')
  assert {'fia_tf', 'tensorflow', 'keras', 'numpy'} <= set(
      record['versions'])
  assert record['flags']['attack_method'] == 'FIA+DIM'


def test_evaluate_numbers_match_an_independent_recount(attacked, checkpoints,
                                                       tmp_path):
  out, _ = attacked
  models = ['tiny_inception', 'tiny_vgg', 'tiny_adv_inception']
  result = run('evaluate.py', TINY, f'--models={",".join(models)}',
               f'--ori_path={IMAGES}', f'--labels={LABELS}',
               f'--adv_path=fia={out}', f'--output_dir={tmp_path}',
               f'--checkpoint_dir={checkpoints}', '--batch_size=3')
  report = json.loads((tmp_path / 'evaluation.json').read_text())
  with open(tmp_path / 'evaluation.csv', newline='') as f:
    table = {r['target']: r for r in csv.DictReader(f)}
  markdown = (tmp_path / 'evaluation.md').read_text()
  assert markdown.strip() in result.stdout
  truth = labels_of(NAMES)
  gt = np.array([truth[n] for n in NAMES])
  clean_images = [read_png(IMAGES / n) for n in NAMES]
  adv_images = [read_png(out / n) for n in NAMES]
  control_images = [np.rint(resize(x, 24)) for x in clean_images]
  rows = {r['target']: r for r in report['rows']}
  assert set(rows) == set(models)
  for model in models:
    clean = predict(model, checkpoints, clean_images)
    adv = predict(model, checkpoints, adv_images)
    control = predict(model, checkpoints, control_images)
    expect = {
        'clean_accuracy': np.mean(clean == gt),
        'adv_accuracy': np.mean(adv == gt),
        'success_changed': np.mean(adv != clean),
        'success_wrong': np.mean(adv != gt),
        'control_changed': np.mean(control != clean),
        'control_wrong': np.mean(control != gt),
    }
    row = rows[model]
    assert row['n'] == 4 and row['missing'] == []
    for key, value in expect.items():
      assert row[key] == pytest.approx(value), (model, key)
      assert float(table[model][key]) == pytest.approx(value, abs=1e-6)
    assert f'| fia | {model} | 4 | {100 * expect["clean_accuracy"]:.1f} |' \
        in markdown
  # The white-box target must be fooled at least sometimes.
  assert rows['tiny_vgg']['success_changed'] > 0


def _attack_args(inputs, out, checkpoints):
  return [TINY, '--model_name=tiny_inception', '--attack_method=FIA+PIDIM',
          f'--input_dir={inputs}', f'--output_dir={out}',
          f'--checkpoint_dir={checkpoints}', '--batch_size=1', '--ens=40',
          '--num_iter=10', '--progress_every=0']


def test_killed_run_resumes_to_byte_identical_files(tmp_path, checkpoints):
  # 12 images (copies of the 4 under other ids), one per batch, so that a
  # kill lands between outputs with room to spare.
  inputs = tmp_path / 'images'
  inputs.mkdir()
  sources = sorted(IMAGES.glob('*.png'))
  for k in range(1, 13):
    shutil.copy(sources[k % 4], inputs / f'{k}.png')
  shutil.copy(LABELS, tmp_path / 'labels.txt')
  full, resumed = tmp_path / 'full', tmp_path / 'resumed'
  run('attack.py', *_attack_args(inputs, full, checkpoints))

  proc = subprocess.Popen(
      command('attack.py', *_attack_args(inputs, resumed, checkpoints)),
      env=environment(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  deadline = time.monotonic() + 300
  while (len(list(resumed.glob('*.png'))) < 3 and proc.poll() is None and
         time.monotonic() < deadline):
    time.sleep(0.005)
  proc.send_signal(signal.SIGKILL)
  proc.wait()
  done_before = len(list(resumed.glob('*.png')))
  assert 3 <= done_before < 12, 'the run was not killed part-way'
  record = json.loads((resumed / 'run.json').read_text())
  assert record['status'] == 'running'

  result = run('attack.py', *_attack_args(inputs, resumed, checkpoints))
  assert f'{done_before} already done' in result.stdout
  names = sorted(p.name for p in full.glob('*.png'))
  assert names == sorted(p.name for p in resumed.glob('*.png'))
  assert len(names) == 12
  for name in names:
    assert (full / name).read_bytes() == (resumed / name).read_bytes(), name
  assert not [p for p in resumed.iterdir() if p.name.startswith('.')]
  record = json.loads((resumed / 'run.json').read_text())
  assert record['status'] == 'complete' and record['resumed'] == done_before


def test_resume_with_other_settings_is_refused(attacked, checkpoints):
  out, _ = attacked
  result = run('attack.py', TINY, '--model_name=tiny_vgg',
               '--attack_method=FIA+DIM', f'--input_dir={IMAGES}',
               f'--labels={LABELS}', f'--output_dir={out}',
               f'--checkpoint_dir={checkpoints}', '--batch_size=3',
               '--ens=8', '--num_iter=5', '--probb=0.9', expect=2)
  assert 'config.keep_prob: 0.7 there, 0.9 now' in result.stderr
  assert 'Traceback' not in result.stderr
  assert os.path.exists(out / '1.png')


def test_evaluate_defended_targets_by_name(attacked, checkpoints, tmp_path):
  out, _ = attacked
  run('evaluate.py', TINY, '--targets=tiny_vgg+jpeg75,tiny_inception+rp',
      f'--ori_path={IMAGES}', f'--labels={LABELS}', f'--adv_path=fia={out}',
      f'--output_dir={tmp_path}', f'--checkpoint_dir={checkpoints}',
      '--batch_size=3', '--nocontrol')
  with open(tmp_path / 'evaluation.csv', newline='') as f:
    table = {r['target']: r for r in csv.DictReader(f)}
  assert set(table) == {'tiny_vgg+jpeg75', 'tiny_inception+rp'}
  truth = labels_of(NAMES)
  gt = np.array([truth[n] for n in NAMES])
  clean_images = np.stack([resize(read_png(IMAGES / n), 24) for n in NAMES])
  adv_images = np.stack([read_png(out / n) for n in NAMES]).astype(
      np.float32)
  # Recount: the defence applied here, then the plain model.
  jpeg = defences.make('jpeg75')
  clean = predict('tiny_vgg', checkpoints, list(jpeg(clean_images)))
  adv = predict('tiny_vgg', checkpoints, list(jpeg(adv_images)))
  row = table['tiny_vgg+jpeg75']
  right = clean == gt
  assert float(row['success_changed']) == pytest.approx(
      np.mean(adv != clean), abs=1e-6)
  assert int(row['n_correct']) == right.sum()
  if right.any():
    assert float(row['success_correct']) == pytest.approx(
        np.mean((adv != gt)[right]), abs=1e-6)
  markdown = (tmp_path / 'evaluation.md').read_text()
  assert f'(n={right.sum()}) |' in markdown
  bad = run('evaluate.py', TINY, '--models=tiny_vgg+jpeg200',
            f'--ori_path={IMAGES}', f'--adv_path=fia={out}',
            f'--checkpoint_dir={checkpoints}',
            f'--output_dir={tmp_path / "bad"}', expect=2)
  assert "target 'tiny_vgg+jpeg200'" in bad.stderr
  assert 'JPEG quality must be an integer in 1..100, got 200' in bad.stderr
  assert 'Traceback' not in bad.stderr
