"""The ImageNet demo's plan: methods, per-source settings, targets, data
(no model run), and one tiny end-to-end run on the packaged models."""

import json

import imageio.v3 as iio
import numpy as np
import pytest

from fia_tf.demos import imagenet
from fia_tf.zoo import efficientnet_lite as el
from tests.helpers.paths import IMAGENET_DEMO


def _sets():
  return {s.name: s.config for s in imagenet.plan()}


def test_every_method_is_planned_for_both_sources():
  sets = _sets()
  for source in imagenet.SOURCES:
    for method in ('MIM', 'DIM', 'NAA', 'DANAA', 'ILPD', 'BFA', 'P2FA'):
      assert f'{source}/{method}' in sets
    for method in ('FIA', 'FIA+PIDIM', 'RPA'):
      # They drop pixels like FIA: they take the demo's keep probability.
      assert sets[f'{source}/{method}_p0.7'].keep_prob == imagenet.KEEP_PROB
  assert len(sets) == len(imagenet.SOURCES) * len(imagenet.METHODS)


@pytest.mark.parametrize('source,size', [('efficientnet_lite0', 224),
                                         ('efficientnet_lite2', 260)])
def test_bfa_step_keeps_the_codes_per_pixel_step(source, size):
  sets = _sets()
  # The code's eta = 28 on 299 x 299 x 3; the same RMS step per pixel and
  # channel on the source's input.
  per_pixel = 28 / np.sqrt(299 * 299 * 3)
  for name, option in (('BFA', 'bfa_eta'), ('P2FA', 'p2fa_eta')):
    eta = sets[f'{source}/{name}'].option(option)
    assert eta / np.sqrt(size * size * 3) == pytest.approx(per_pixel)
  # Other methods never see the option; every method shares the budget.
  assert 'bfa_eta' not in dict(sets[f'{source}/MIM'].options)
  assert {(c.eps, c.alpha, c.num_iter) for c in sets.values()} == {
      (16.0, 1.6, 10)}


def test_each_source_meets_its_black_box_models_behind_each_defence():
  from fia_tf.evaluation import defences  # pylint: disable=import-outside-toplevel
  from fia_tf.evaluation import targets  # pylint: disable=import-outside-toplevel
  names, per_source, _ = imagenet.targets(slim=False)
  assert names[:3] == list(imagenet.PACKAGE_TARGETS)
  # Lite1 behind a defence serves both sources; Lite2's for Lite0 only.
  assert len(names) == 3 + 3 * len(imagenet.DEFENCES)
  lite0 = per_source['efficientnet_lite0']
  lite2 = per_source['efficientnet_lite2']
  assert lite0[:3] == lite2[:3] == list(imagenet.PACKAGE_TARGETS)
  only_lite0, only_lite2 = 'efficientnet_lite2+rp', 'efficientnet_lite0+fd'
  both = 'efficientnet_lite1+jpeg75'
  assert only_lite0 in lite0 and only_lite0 not in lite2
  assert only_lite2 in lite2 and only_lite2 not in lite0
  assert both in lite0 and both in lite2
  for name in names[3:]:
    target = targets.as_target(name)  # built lazily: no weights read here
    assert isinstance(target, defences.DefendedTarget)
    assert target.name == name
  assert imagenet.targets(slim=False, defences=())[0] == list(
      imagenet.PACKAGE_TARGETS)


def test_committed_images_are_the_dev_sets_first_200_with_credits():
  rows = [line.split() for line in
          (IMAGENET_DEMO / 'labels.txt').read_text().splitlines()
          if line and not line.startswith('#')]
  assert [name for name, _ in rows] == [f'{k:04d}.png'
                                        for k in range(1, 201)]
  assert sorted(p.name for p in IMAGENET_DEMO.glob('*.png')) == [
      name for name, _ in rows]
  readme = (IMAGENET_DEMO / 'README.md').read_text()
  credits = [line for line in readme.splitlines()
             if line.startswith('| 0')]
  assert [line.split(' | ')[0][2:] for line in credits] == [
      name for name, _ in rows]
  for line, (_, label) in zip(credits, rows):
    assert f' | {label} | ' in line and 'CC BY 2.0' in line
  first = iio.imread(IMAGENET_DEMO / '0001.png')
  assert first.shape == (299, 299, 3) and first.dtype == np.uint8


def test_at_size_rounds_to_8_bits():
  images = np.random.default_rng(0).integers(0, 256, (2, 299, 299, 3))
  out = imagenet.at_size(images, 224)
  assert out.shape == (2, 224, 224, 3) and out.dtype == np.float32
  np.testing.assert_array_equal(out, np.rint(out))
  assert 0 <= out.min() and out.max() <= 255


def test_bad_source_defence_and_count_are_refused(tmp_path):
  with pytest.raises(ValueError, match='source must be one of'):
    imagenet.run(IMAGENET_DEMO, tmp_path, sources=['vgg_16'])
  with pytest.raises(ValueError, match="unknown defence 'jpg75'"):
    imagenet.run(IMAGENET_DEMO, tmp_path, defences=['jpg75'], slim=False)
  with pytest.raises(ValueError, match='201 images asked for'):
    imagenet.run(IMAGENET_DEMO, tmp_path, num_images=201, slim=False)
  assert not list(tmp_path.iterdir())


def _lite_installed():
  import importlib.util  # pylint: disable=import-outside-toplevel
  return all(importlib.util.find_spec(el.VARIANTS[n].module) is not None
             for n in imagenet.PACKAGE_TARGETS)


@pytest.mark.slow
@pytest.mark.skipif(not _lite_installed(),
                    reason="pip install -e '.[imagenet]' for the Lite models")
def test_tiny_run_scores_both_sources_on_their_targets(tmp_path):
  lines = []
  summary = imagenet.run(IMAGENET_DEMO, tmp_path, methods=('MIM',),
                         num_images=2, batch_size=2, slim=False,
                         defences=('jpeg75',), log=lines.append)
  rows = summary['rows']
  pairs = {(r['source'], r['target']) for r in rows}
  assert pairs == {
      ('efficientnet_lite0', t) for t in (
          'efficientnet_lite0', 'efficientnet_lite1', 'efficientnet_lite2',
          'efficientnet_lite1+jpeg75', 'efficientnet_lite2+jpeg75')} | {
      ('efficientnet_lite2', t) for t in (
          'efficientnet_lite0', 'efficientnet_lite1', 'efficientnet_lite2',
          'efficientnet_lite0+jpeg75', 'efficientnet_lite1+jpeg75')}
  for row in rows:
    assert row['n'] == 2 and 0 <= row['n_correct'] <= 2
    # Every metric is a count over its denominator.
    assert row['success_changed'] * 2 == pytest.approx(
        round(row['success_changed'] * 2))
  # White box: MIM at eps 16 flips the source's own predictions.
  for source in imagenet.SOURCES:
    white = [r for r in rows if r['source'] == r['target'] == source]
    assert white[0]['success_changed'] == 1.0
  table = json.loads((tmp_path / 'table_correct.json').read_text())
  assert table['counts'] and all(c is not None for c in table['counts'][0])
  for name in ('results.md', 'evaluation.csv', 'summary.json',
               'defended_efficientnet_lite2_wrong.csv'):
    assert (tmp_path / name).is_file()
  saved = json.loads((tmp_path / 'summary.json').read_text())
  assert saved['targets']['efficientnet_lite2'][-1] == (
      'efficientnet_lite1+jpeg75')
  assert saved['method_settings']['efficientnet_lite2'] == {}


@pytest.mark.slow
@pytest.mark.skipif(not _lite_installed(),
                    reason="pip install -e '.[imagenet]' for the Lite models")
def test_a_crashed_run_resumes_from_its_finished_sets(tmp_path, monkeypatch):
  from fia_tf.evaluation import transfer  # pylint: disable=import-outside-toplevel
  kwargs = dict(methods=('MIM', 'FIA'), num_images=2, batch_size=2,
                slim=False, defences=(), sources=('efficientnet_lite0',),
                log=lambda line: None)
  evaluate = transfer.evaluate
  handed = {}

  def crash(*args, **kw):
    del args, kw
    raise RuntimeError('crash')

  def crash_in_evaluation(inputs, *args, **kw):
    del args, kw
    handed.update(inputs.adversarial)
    raise RuntimeError('crash after the attacks')
  monkeypatch.setattr(transfer, 'evaluate', crash_in_evaluation)
  with pytest.raises(RuntimeError, match='crash'):
    imagenet.run(IMAGENET_DEMO, tmp_path / 'a', **kwargs)
  # The evaluation reads the sets from disk, memory-mapped.
  assert sorted(handed) == ['efficientnet_lite0/FIA_p0.7',
                            'efficientnet_lite0/MIM']
  assert all(isinstance(a, np.memmap) and a.shape == (2, 224, 224, 3)
             for a in handed.values())
  kept = sorted(p.name for p in
                (tmp_path / 'a' / imagenet.IN_PROGRESS).iterdir())
  assert kept == ['efficientnet_lite0--FIA_p0.7.json',
                  'efficientnet_lite0--FIA_p0.7.npy',
                  'efficientnet_lite0--MIM.json',
                  'efficientnet_lite0--MIM.npy']
  # The rerun attacks nothing and scores what the first run made.
  monkeypatch.setattr(transfer, 'evaluate', evaluate)
  attack = transfer.attack_in_memory
  monkeypatch.setattr(transfer, 'attack_in_memory', crash)
  resumed = imagenet.run(IMAGENET_DEMO, tmp_path / 'a', **kwargs)
  assert not (tmp_path / 'a' / imagenet.IN_PROGRESS).exists()
  monkeypatch.setattr(transfer, 'attack_in_memory', attack)
  fresh = imagenet.run(IMAGENET_DEMO, tmp_path / 'b', **kwargs)
  assert resumed['rows'] == fresh['rows']
  # The resumed run's time is its own; the attack seconds it reused are
  # named as an earlier run's, with the sets they belong to.
  assert resumed['reused_sets'] == ['efficientnet_lite0/MIM',
                                    'efficientnet_lite0/FIA_p0.7']
  assert fresh['reused_sets'] == []
  earlier = sum(resumed['attack_seconds'].values())
  assert earlier > 0
  assert (f'Attacks {earlier:.0f} s ({earlier:.0f} s of them by an earlier '
          'run, whose 2 finished sets this run reused)') in (
              tmp_path / 'a' / 'results.md').read_text()
  assert 'earlier run' not in (tmp_path / 'b' / 'results.md').read_text()
  # A damaged file is attacked again, not read.
  (tmp_path / 'c' / imagenet.IN_PROGRESS).mkdir(parents=True)
  for name in kept:
    (tmp_path / 'c' / imagenet.IN_PROGRESS / name).write_bytes(b'not a set')
  monkeypatch.setattr(transfer, 'attack_in_memory', crash)
  with pytest.raises(RuntimeError, match='crash'):
    imagenet.run(IMAGENET_DEMO, tmp_path / 'c', **kwargs)


def test_a_finished_set_is_reused_only_under_its_key(tmp_path):
  # pylint: disable=protected-access
  key_of, save, load = imagenet._set_key, imagenet._save_set, imagenet._load_set
  sets = imagenet.plan(('efficientnet_lite0',), ('MIM', 'FIA'))
  images = np.zeros((2, 4, 4, 3), np.float32)
  labels = np.array([1, 2])
  key = key_of(sets[0], images, labels)
  where = imagenet._set_files(tmp_path, sets[0])
  save(where, key, images + 1, 3.5)
  adv, seconds = load(where, key)
  assert isinstance(adv, np.memmap)
  np.testing.assert_array_equal(adv, images + 1)
  assert seconds == 3.5
  for other in (key_of(sets[1], images, labels),
                key_of(sets[0], images + 1, labels),
                key_of(sets[0], images, labels[::-1])):
    assert other != key
    assert load(where, other) is None
  assert load(imagenet._set_files(tmp_path, sets[1]), key) is None


def test_a_set_whose_pixels_do_not_match_its_key_file_is_not_read(
    tmp_path, monkeypatch):
  # pylint: disable=protected-access
  sets = imagenet.plan(('efficientnet_lite0',), ('MIM',))
  images, labels = np.zeros((2, 4, 4, 3), np.float32), np.array([1, 2])
  key = imagenet._set_key(sets[0], images, labels)
  pixels, meta = where = imagenet._set_files(tmp_path, sets[0])
  imagenet._save_set(where, key, images + 1, 1.0)
  # Pixels of another shape or type under the right key.
  for wrong in (np.zeros((3, 4, 4, 3), np.float32),
                np.zeros((2, 4, 4, 3), np.float64)):
    np.save(pixels, wrong)
    assert imagenet._load_set(where, key) is None
  pixels.write_bytes(b'truncated')
  assert imagenet._load_set(where, key) is None
  for text in ('[]', '"key"', '{"key": 3}', '{'):
    imagenet._save_set(where, key, images + 1, 1.0)
    meta.write_text(text)
    assert imagenet._load_set(where, key) is None
  # A crash while new pixels are written leaves no key for the old ones.
  imagenet._save_set(where, key, images + 1, 1.0)

  def crash(*args, **kwargs):
    raise OSError('killed')
  monkeypatch.setattr(imagenet.files, 'atomic_write_bytes', crash)
  with pytest.raises(OSError, match='killed'):
    imagenet._save_set(where, 'another key', images + 2, 1.0)
  assert not meta.exists() and imagenet._load_set(where, key) is None
