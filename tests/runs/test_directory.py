"""attack_directory in-process: rounded outputs, records, resumption."""

import json

import numpy as np
import pytest

import fia_tf
from fia_tf import data
from fia_tf import runs
from fia_tf.zoo import tiny
from tests.helpers.checks import read_png
from tests.helpers.paths import IMAGES
from tests.helpers.paths import LABELS


@pytest.fixture(scope='module')
def attack(tiny_checkpoints):
  spec = tiny.tiny_spec('tiny_vgg')
  source = spec.source_model(checkpoint_dir=tiny_checkpoints)
  return spec, fia_tf.Attack(source, fia_tf.AttackConfig(
      method='FIA', ens=3, num_iter=3, micro_batch=2))


def test_outputs_are_the_rounded_library_result(attack, tmp_path):
  spec, attack = attack
  image_set = data.image_set(IMAGES, LABELS)
  summary = runs.attack_directory(attack, image_set, tmp_path, batch_size=2,
                                  label_offset=spec.label_offset)
  assert summary.written == 4 and not summary.skipped
  batch = data.load_batch(IMAGES, image_set.entries, 24, round_pixels=True)
  labels = np.array([e.label + spec.label_offset for e in batch.entries])
  ids = np.array([e.image_id for e in batch.entries])
  expected = np.rint(attack(batch.images, labels, ids).numpy())
  for entry, want in zip(batch.entries, expected):
    np.testing.assert_array_equal(read_png(tmp_path / entry.output_name),
                                  want.astype(np.uint8))
  record = runs.read_run(tmp_path)
  assert record['status'] == 'complete' and record['pass_copies'] == (
      attack.mask_batch)
  assert record['config']['method'] == 'FIA'


def test_resume_skips_done_batches_and_refuses_other_settings(attack,
                                                              tmp_path):
  spec, attack = attack
  image_set = data.image_set(IMAGES, LABELS)
  runs.attack_directory(attack, image_set, tmp_path, batch_size=2,
                        label_offset=spec.label_offset)
  (tmp_path / '44.png').unlink()
  before = (tmp_path / '1.png').stat().st_mtime_ns
  summary = runs.attack_directory(attack, image_set, tmp_path, batch_size=2,
                                  label_offset=spec.label_offset)
  assert (summary.written, summary.resumed) == (2, 2)
  assert (tmp_path / '1.png').stat().st_mtime_ns == before
  other = fia_tf.Attack(attack.source, fia_tf.AttackConfig(
      method='FIA', ens=4, num_iter=3, micro_batch=2))
  with pytest.raises(runs.RunMismatchError, match='config.ens: 3 there, 4'):
    runs.attack_directory(other, image_set, tmp_path, batch_size=2,
                          label_offset=spec.label_offset)
  assert json.loads((tmp_path / 'run.json').read_text())['config']['ens'] == 3
