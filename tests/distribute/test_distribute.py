"""Sharding across devices: identical outputs, clear errors, one build.

The two-device checks run in child processes: TensorFlow fixes its devices
at the first op, and this test process has long started.
"""

import json
import pathlib
import subprocess

import numpy as np
import pytest
import tensorflow as tf

import fia_tf
from fia_tf import distribute
from fia_tf import evaluation
from tests.helpers.binaries import PYTHON
from tests.helpers.binaries import TINY
from tests.helpers.binaries import environment
from tests.helpers.binaries import run
from tests.helpers.binaries import run_all
from tests.helpers.paths import IMAGES
from tests.helpers.paths import LABELS
from tests.helpers.paths import REPO

HERE = pathlib.Path(__file__).resolve().parent


@pytest.fixture(scope='module')
def two_device_report(checkpoints):
  result = subprocess.run(
      [PYTHON, str(HERE / 'two_devices.py'), str(checkpoints)],
      capture_output=True, text=True, env=environment(), cwd=REPO,
      timeout=900, check=False)
  assert result.returncode == 0, result.stderr[-4000:]
  return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.cli
def test_two_logical_cpus_are_two_replicas(two_device_report):
  report = two_device_report
  assert report['replicas'] == 2
  assert [d.rsplit(':', 2)[-2:] for d in report['devices']] == [
      ['CPU', '0'], ['CPU', '1']]
  # 5 images on 2 replicas: 3 + 2 (the second shard padded by one copy).
  assert report['shard_of_image'] == [0, 0, 0, 1, 1]
  assert report['mirrored_variables'] == 'MirroredVariable'


@pytest.mark.cli
def test_two_devices_give_the_one_device_bytes(two_device_report):
  cases = {k: v for k, v in two_device_report['cases'].items()
           if not k.endswith('/predict')}
  assert len(cases) == 24
  for name, case in cases.items():
    assert case['shape'][0] == 5 and case['values_shape'] == [4, 5], name
    assert case['moved'] >= 6.0, (name, 'the attack barely moved')
    assert case['adv_equal'], (name, case['max_diff'])
    # The objective trace (a diagnostic) may differ in the last bit where
    # the replicated graph fuses an op differently.
    assert case['values_max_rel_diff'] <= 1e-6, (name, case)


@pytest.mark.cli
def test_two_devices_predict_like_one(two_device_report):
  for name in ('tiny_inception', 'tiny_vgg'):
    case = two_device_report['cases'][f'{name}/predict']
    assert case['mirrored_model'] == 'MirroredVariable'
    assert case['labels_equal']
    assert case['logits_spread'] > 1.0  # not a constant output
    assert case['logits_max_rel_diff'] <= 1e-6


@pytest.mark.cli
def test_binaries_on_two_devices_write_the_same_files(tmp_path, checkpoints):
  common = [TINY, '--model_name=tiny_inception', '--attack_method=FIA+PIDIM',
            f'--input_dir={IMAGES}', f'--labels={LABELS}',
            f'--checkpoint_dir={checkpoints}', '--batch_size=1', '--ens=5',
            '--num_iter=3']
  one, two = tmp_path / 'one', tmp_path / 'two'
  results = run_all([
      ('attack.py', common + [f'--output_dir={one}'], None),
      ('attack.py', common + [f'--output_dir={two}', '--strategy=mirrored',
                              '--cpu_devices=2'], None)])
  for code, _, stderr in results:
    assert code == 0, stderr[-3000:]
  names = sorted(p.name for p in one.glob('*.png'))
  assert names == ['1.png', '2.png', '44.png', '50.png']
  for name in names:
    assert (one / name).read_bytes() == (two / name).read_bytes(), name
  record = json.loads((two / 'run.json').read_text())
  assert record['replicas'] == 2 and record['batch_size'] == 2
  assert record['config']['micro_batch'] == 1

  evals = {}
  for label, extra in (('one', []),
                       ('two', ['--strategy=mirrored', '--cpu_devices=2'])):
    out = tmp_path / f'eval_{label}'
    run('evaluate.py', TINY, f'--ori_path={IMAGES}', f'--labels={LABELS}',
        f'--adv_path=set={one}', '--models=tiny_inception,tiny_vgg',
        f'--checkpoint_dir={checkpoints}', f'--output_dir={out}',
        '--batch_size=3', *extra)
    rows = json.loads((out / 'evaluation.json').read_text())['rows']
    evals[label] = [{k: v for k, v in r.items() if k != 'directory'}
                    for r in rows]
  assert len(evals['one']) == 2
  assert evals['one'] == evals['two']


def test_sharding_errors_name_the_bad_value():
  with pytest.raises(ValueError, match="'ring'"):
    distribute.make_strategy('ring')
  with pytest.raises(ValueError, match='TF_CONFIG'):
    distribute.make_strategy('multi_worker')
  with pytest.raises(ValueError, match='0'):
    distribute.split_cpu(0)
  tf.constant(1.0)  # devices are fixed from here on
  have = len(tf.config.list_logical_devices('CPU'))
  distribute.split_cpu(have)  # asking for what is there is fine
  with pytest.raises(ValueError, match=f'already runs with {have}'):
    distribute.split_cpu(have + 3)


def test_run_sharded_without_strategy_is_a_plain_call():
  x = tf.range(4.0)
  out = distribute.run_sharded(None, lambda t: (t * 2, t + 1), x)
  np.testing.assert_array_equal(out[0], [0, 2, 4, 6])
  np.testing.assert_array_equal(out[1], [1, 2, 3, 4])


def test_default_memory_budget_follows_the_device():
  budget = distribute.default_memory_budget()
  ram = distribute.device_memory_bytes()
  assert ram > 2**30
  assert budget == min(ram // 8, 4 * 2**30)
  attack = fia_tf.Attack(_tiny_source(), fia_tf.AttackConfig(method='FIA'))
  assert attack.memory_budget == budget
  explicit = fia_tf.Attack(_tiny_source(), fia_tf.AttackConfig(
      method='FIA', memory_budget=2**20))
  assert explicit.memory_budget == 2**20
  assert explicit.mask_batch < attack.mask_batch


def _tiny_source():
  from tests.helpers.models import tiny_cnn  # pylint: disable=import-outside-toplevel
  return fia_tf.SourceModel(tiny_cnn(), fia_tf.preprocessing.inception,
                            'feat', name='tiny')


@pytest.mark.parametrize('batch,ens,mask_batch', [
    (1, 30, 64), (4, 30, 64), (20, 30, 64), (20, 30, 7), (3, 5, 1),
    (5, 1, 100), (7, 30, 1024)])
def test_pass_layout_covers_every_copy_within_the_budget(batch, ens,
                                                         mask_batch):
  attack = fia_tf.Attack(_tiny_source(), fia_tf.AttackConfig(
      method='FIA', ens=ens, mask_batch=mask_batch))
  images, masks, blocks, passes = attack.pass_layout(batch)
  assert images * blocks >= batch and (images - 1) * blocks < batch
  assert masks * passes >= ens and (masks - 1) * passes < ens
  assert images * masks <= max(mask_batch, 1)


def test_micro_batch_changes_no_result_and_no_trace(tiny_source, images,
                                                    labels):
  ids = np.arange(6) + 100
  base = fia_tf.Attack(tiny_source, fia_tf.AttackConfig(method='FIA', ens=4))
  micro = fia_tf.Attack(tiny_source, fia_tf.AttackConfig(
      method='FIA', ens=4, micro_batch=4))
  want, want_values = base.run(images, labels, ids)
  got, got_values = micro.run(images, labels, ids)  # steps of 4 + 2 (padded)
  np.testing.assert_array_equal(got.numpy(), want.numpy())
  np.testing.assert_allclose(got_values.numpy(), want_values.numpy(),
                             rtol=1e-6)
  assert got_values.shape == (10, 6)
  micro(images[:3], labels[:3], ids[:3])
  # Every step has the same shape: traced once.
  assert micro._compiled.experimental_get_tracing_count() == 1


def test_evaluation_builds_each_model_once(tmp_path, checkpoints):
  from fia_tf import data  # pylint: disable=import-outside-toplevel
  image_set = data.image_set(IMAGES, LABELS)
  dirs = {'a': IMAGES, 'b': IMAGES}
  before = evaluation.RegistryTarget.builds
  rows = evaluation.evaluate_directories(
      image_set, dirs, ['tiny_inception', 'tiny_vgg'],
      checkpoint_dir=checkpoints, batch_size=1)
  # 2 models x (clean + 2 sets + control) x 4 batches of one image.
  assert evaluation.RegistryTarget.builds - before == 2
  assert len(rows) == 4 and all(r['n'] == 4 for r in rows)
  # The clean directory as "adversarial": nothing changed.
  assert all(r['success_changed'] == 0.0 for r in rows)


def _free_ports(count):
  import socket  # pylint: disable=import-outside-toplevel
  sockets = [socket.socket() for _ in range(count)]
  for s in sockets:
    s.bind(('127.0.0.1', 0))
  ports = [s.getsockname()[1] for s in sockets]
  for s in sockets:
    s.close()
  return ports


@pytest.mark.cli
def test_two_worker_processes_give_the_one_device_bytes(tmp_path,
                                                        checkpoints):
  from tests.distribute import multi_worker  # pylint: disable=import-outside-toplevel
  from fia_tf.zoo import registry  # pylint: disable=import-outside-toplevel
  ports = ','.join(map(str, _free_ports(2)))
  out = tmp_path / 'adv.npy'
  env = environment()
  env.pop('TF_CONFIG', None)
  procs = [subprocess.Popen(
      [PYTHON, str(HERE / 'multi_worker.py'), str(checkpoints), ports,
       str(index), str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
      text=True, env=env, cwd=REPO) for index in (0, 1)]
  reports = []
  try:
    for proc in procs:
      stdout, stderr = proc.communicate(timeout=300)
      assert proc.returncode == 0, stderr[-3000:]
      reports.append(json.loads(stdout.strip().splitlines()[-1]))
  finally:
    for proc in procs:
      proc.kill()
  assert [r['replicas'] for r in reports] == [2, 2]
  assert [r['chief'] for r in reports] == [True, False]
  images, labels, ids = multi_worker.inputs()
  source = registry.get_spec('tiny_inception').source_model(
      checkpoint_dir=checkpoints)
  want = fia_tf.Attack(source, multi_worker.config())(images, labels, ids)
  got = np.load(out)
  assert np.abs(want.numpy() - images).max() >= 8.0  # it moved
  np.testing.assert_array_equal(got, want.numpy())
