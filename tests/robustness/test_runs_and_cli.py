"""Runs, locks, faults, the command line and library input (issue 15).

One regression test (or two: library and binary) per defect of issue 15,
items 2-7, 12 and 13; the item number is in each test's docstring. The
library tests run in-process on the tiny zoo; the binary tests (marked
``cli``) run ``experiments/attack.py`` as a subprocess, as users do.
"""

import errno
import fcntl
import os
import pathlib
import signal
import subprocess
import sys
import types

import numpy as np
import pytest
import tensorflow as tf

import fia_tf
from fia_tf import cli
from fia_tf import data
from fia_tf import runs
from fia_tf.attacks import parts
from fia_tf.data import files
from fia_tf.runs import grid as grid_lib
from fia_tf.zoo import checkpoint as checkpoint_lib
from fia_tf.zoo import registry
from fia_tf.zoo import testing
from fia_tf.zoo import tiny
from tests.helpers.binaries import PYTHON
from tests.helpers.binaries import TINY
from tests.helpers.binaries import command
from tests.helpers.binaries import environment
from tests.helpers.binaries import run
from tests.helpers.binaries import run_all
from tests.helpers import models
from tests.helpers.paths import CONFIGS
from tests.helpers import paths
from tests.helpers.paths import REPO

LOCK = '.fia_tf.lock'  # the documented lock file of an output directory


@pytest.fixture(scope='module', autouse=True)
def tiny_zoo_registered():
  with registry.registered(*tiny.SPECS):
    yield


@pytest.fixture
def image_dir(tmp_path):
  """The four test images with labels.txt next to them."""
  return paths.copy_test_images(tmp_path)


def _snapshot(directory):
  return {p.relative_to(directory): p.read_bytes()
          for p in sorted(directory.rglob('*')) if p.is_file()}


def _attack(tiny_checkpoints, method='MIM', **settings):
  spec = tiny.tiny_spec('tiny_vgg')
  source = spec.source_model(checkpoint_dir=tiny_checkpoints)
  settings = {'num_iter': 2, 'micro_batch': 2, **settings}
  return spec, fia_tf.Attack(source, fia_tf.AttackConfig(method=method,
                                                         **settings))


@pytest.fixture(scope='module')
def mim(tiny_checkpoints):
  return _attack(tiny_checkpoints)


def _attack_dir(spec_attack, image_dir, out, **kwargs):
  spec, attack = spec_attack
  return runs.attack_directory(attack, data.image_set(image_dir), out,
                               batch_size=2, label_offset=spec.label_offset,
                               **kwargs)


# -- 2. output directory = / inside / around the input directory -------------

@pytest.mark.parametrize('where', ['same', 'inside', 'around', 'symlink'])
def test_output_overlapping_input_is_refused_before_any_work(
    mim, image_dir, tmp_path, where):
  """Item 2: refused, and neither directory is touched."""
  if where == 'same':
    out = image_dir
  elif where == 'inside':
    out = image_dir / 'adv'
  elif where == 'around':
    out = image_dir.parent
  else:
    out = tmp_path / 'link'
    out.symlink_to(image_dir, target_is_directory=True)
  before = _snapshot(tmp_path)
  # (ValueError, the base of guards.OverlapError, so that this fails, not
  # errors, where the check is missing)
  with pytest.raises(ValueError, match='output directory .* (is|lies '
                     'inside) the input directory|lies inside the output'):
    _attack_dir(mim, image_dir, out, overwrite=True)
  assert _snapshot(tmp_path) == before
  assert not (image_dir / 'adv').exists()


def test_grid_output_inside_its_input_is_refused(image_dir):
  """Item 2: the grid checks before writing its tiny checkpoints."""
  grid = grid_lib.load('dry_run', {'input_dir': str(image_dir)}, root=REPO,
                       config_dir=CONFIGS)
  out = image_dir / 'results'
  with pytest.raises(ValueError, match='lies inside the grid input directory'):
    grid_lib.run(grid, out)
  assert not out.exists()


# -- 3. a model that gives NaN ------------------------------------------------

def _poison_last_layer(source):
  """NaN in the logits layer's bias only: the features stay finite."""
  bias = [v for v in source.model.weights if 'bias' in v.path][-1]
  bias.assign(np.full(bias.shape, np.nan, np.float32))


@pytest.mark.parametrize('method', ['MIM', 'FDA'])
def test_non_finite_model_stops_the_run_and_writes_nothing(
    tiny_checkpoints, image_dir, tmp_path, method):
  """Item 3: FDA never reaches the NaN logits (its images stay finite), so
  the clean logits are checked too."""
  spec, attack = _attack(tiny_checkpoints, method)
  _poison_last_layer(attack.source)
  out = tmp_path / 'adv'
  with pytest.raises(RuntimeError,
                     match=r'tiny_vgg \(checkpoint: /ckpt/x\).*non-finite') as e:
    _attack_dir((spec, attack), image_dir, out, checkpoint='/ckpt/x')
  assert isinstance(e.value, runs.guards.NonFiniteError)
  assert not list(out.glob('*.png'))
  assert not runs.is_complete(out)
  assert runs.read_run(out)['status'] == 'failed'


def test_non_finite_target_stops_the_evaluation():
  """Item 3: an evaluation target with NaN logits is no prediction of 0."""
  model = models.tiny_cnn(size=16, classes=10)
  target = fia_tf.evaluation.KerasTarget(model, name='nan_net', batch_size=2)
  images = np.full((3, 16, 16, 3), 100, np.float32)
  assert target.predict(images).shape == (3,)
  _poison_last_layer(types.SimpleNamespace(model=model))
  with pytest.raises(RuntimeError, match='target nan_net gave non-finite '
                     r'\(NaN or inf\) logits for 3 of 3 images'):
    target.predict(images)


# -- 4. labels and ids are range-checked on their own dtype ------------------

def test_labels_and_ids_out_of_range_are_not_wrapped(mim):
  """Item 4: 2**32 + 7 as int64 must not become class 7."""
  _, attack = mim
  images = np.full((1, 24, 24, 3), 100, np.float32)
  with pytest.raises(ValueError, match=r'labels must be in \[0, 1000\), got '
                     '4294967303'):
    attack(images, np.array([2**32 + 7], np.int64))
  with pytest.raises(ValueError, match='ids must fit in int64'):
    attack(images, np.array([7]), np.array([2**63 + 5], np.uint64))
  # Inside a graph the same check is an assertion on the int64 values.
  graph = tf.function(attack, input_signature=[
      tf.TensorSpec([None, 24, 24, 3], tf.float32),
      tf.TensorSpec([None], tf.int64)])
  with pytest.raises(tf.errors.InvalidArgumentError,
                     match=r'labels must be in \[0, 1000\)'):
    graph(images, tf.constant([2**32 + 7], tf.int64))
  # In range on a wide dtype it is the same attack as on int32.
  np.testing.assert_array_equal(
      attack(images, np.array([7], np.int64), [3]).numpy(),
      attack(images, np.array([7], np.int32), [3]).numpy())


# -- 5. negative max_images ---------------------------------------------------

def test_negative_max_images_is_refused(image_dir):
  """Item 5: -1 sliced off the last image; 0 and None mean all."""
  image_set = data.image_set(image_dir)
  with pytest.raises(ValueError, match='max_images must be >= 0.*got -1'):
    data.subset(image_set, -1)
  assert len(data.subset(image_set, 0)) == len(data.subset(image_set, None))
  assert len(data.subset(image_set, 0)) == 4
  assert len(data.subset(image_set, 3)) == 3
  grid = grid_lib.load('dry_run', {'input_dir': str(image_dir)}, root=REPO,
                       config_dir=CONFIGS)
  out = image_dir.parent / 'results'
  with pytest.raises(ValueError, match='max_images must be >= 0'):
    grid_lib.run(grid, out, max_images=-1)
  assert not out.exists()


# -- 6. a full disk -----------------------------------------------------------

def _full_disk_after(monkeypatch, writes):
  """``os.fsync`` of the atomic writer fails with ENOSPC after ``writes``
  successful writes (every file the runs write is fsynced there)."""
  real, count = os.fsync, [0]

  def fsync(fd):
    count[0] += 1
    if count[0] > writes:
      raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    return real(fd)
  monkeypatch.setattr(files.os, 'fsync', fsync)


def test_full_disk_is_one_error_leaves_nothing_and_resumes(
    mim, image_dir, tmp_path, monkeypatch):
  """Item 6: the first PNG write fails (run.json 'running' was written)."""
  out = tmp_path / 'adv'
  _full_disk_after(monkeypatch, writes=1)
  with pytest.raises(OSError) as caught:
    _attack_dir(mim, image_dir, out)
  assert caught.value.errno == errno.ENOSPC
  message = str(caught.value)
  assert f'no space left on device while writing into {out}' in message
  assert isinstance(caught.value, files.DiskFullError)
  assert '\n' not in message
  assert sorted(p.name for p in out.iterdir()) == ['run.json']  # no .tmp
  assert not runs.is_complete(out)
  monkeypatch.undo()
  # Space is free again: the same call resumes and completes, with the same
  # bytes as a run that never saw a full disk.
  summary = _attack_dir(mim, image_dir, out)
  assert summary.written == 4 and runs.is_complete(out)
  clean = tmp_path / 'clean'
  _attack_dir(mim, image_dir, clean)
  for name in ('1.png', '2.png', '44.png', '50.png'):
    assert (out / name).read_bytes() == (clean / name).read_bytes()


def test_disk_quota_names_the_quota(tmp_path, monkeypatch):
  """Item 6: EDQUOT is a full disk too."""
  def fsync(fd):
    raise OSError(errno.EDQUOT, os.strerror(errno.EDQUOT))
  monkeypatch.setattr(files.os, 'fsync', fsync)
  with pytest.raises(OSError, match=f'disk quota exceeded while writing into '
                     f'{tmp_path}'):
    files.atomic_write_json(tmp_path / 'r.json', {'a': 1})
  assert not list(tmp_path.iterdir())


# -- 7. two runs into one directory -------------------------------------------

_HOLDER = '''
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
os.write(fd, str(os.getpid()).encode())
print('locked', flush=True)
time.sleep(600)
'''


def _hold_lock(directory):
  """A process holding ``directory``'s lock as a run does (flock)."""
  directory.mkdir(parents=True, exist_ok=True)
  proc = subprocess.Popen([sys.executable, '-c', _HOLDER,
                           str(directory / LOCK)], stdout=subprocess.PIPE,
                          text=True)
  assert proc.stdout.readline().strip() == 'locked'
  return proc


def test_second_run_is_refused_and_a_killed_holder_blocks_nothing(
    mim, image_dir, tmp_path):
  """Item 7: refused at once, naming the directory and the pid."""
  out = tmp_path / 'adv'
  holder = _hold_lock(out)
  try:
    with pytest.raises(RuntimeError,
                       match=f'{out} is in use by another run \\(process '
                       f'{holder.pid} holds'):
      _attack_dir(mim, image_dir, out)
    assert not list(out.glob('*.png')) and not (out / 'run.json').exists()
  finally:
    holder.send_signal(signal.SIGKILL)
    holder.wait()
  # The kernel released the dead holder's lock; its file is still there.
  assert (out / LOCK).exists()
  summary = _attack_dir(mim, image_dir, out)
  assert summary.written == 4 and runs.is_complete(out)
  assert not (out / LOCK).exists()  # removed by the run that held it


def test_lock_is_exclusive_within_one_process_too(tmp_path):
  """Item 7: flock conflicts between two opens, even in one process."""
  with runs.guards.output_lock(tmp_path / 'o') as path:
    assert path.read_text().strip() == str(os.getpid())
    with pytest.raises(runs.guards.OutputLockedError,
                       match=f'process {os.getpid()}'):
      with runs.guards.output_lock(tmp_path / 'o'):
        pass
  with runs.guards.output_lock(tmp_path / 'o'):
    pass


# -- 13. empty batches, labels of the wrong length in a graph ----------------

def _method_of(spec):
  return spec.token or 'MIM'  # cross-entropy has no token: MIM


@pytest.mark.parametrize('objective', parts.OBJECTIVES.names())
def test_empty_batch_gives_an_empty_batch(tiny_checkpoints, objective):
  """Item 13: for every registered objective."""
  _, attack = _attack(tiny_checkpoints,
                      _method_of(parts.OBJECTIVES[objective]), ens=2,
                      micro_batch=None)
  empty = np.zeros((0, 24, 24, 3), np.float32)
  adversarial, values = attack.run(empty, np.zeros((0,), np.int32),
                                   np.zeros((0,), np.int64))
  assert adversarial.shape == (0, 24, 24, 3)
  assert adversarial.dtype == tf.float32
  assert values.shape == (2, 0)
  assert attack(empty, np.zeros((0,), np.int32)).shape == (0, 24, 24, 3)


def test_labels_of_the_wrong_length_fail_in_a_graph(mim):
  """Item 13: a None batch dimension hides the length until run time."""
  _, attack = mim
  graph = tf.function(attack, input_signature=[
      tf.TensorSpec([None, 24, 24, 3], tf.float32),
      tf.TensorSpec([None], tf.int32)])
  images = np.full((2, 24, 24, 3), 50, np.float32)
  with pytest.raises(tf.errors.InvalidArgumentError,
                     match='labels must have one entry per image'):
    graph(images, tf.constant([1, 2, 3]))
  assert graph(images, tf.constant([1, 2])).shape == (2, 24, 24, 3)


# -- the binaries --------------------------------------------------------------

def _attack_args(image_dir, out, checkpoints, *extra):
  return [TINY, '--model_name=tiny_vgg', '--attack_method=MIM',
          '--num_iter=2', '--batch_size=2', f'--input_dir={image_dir}',
          f'--output_dir={out}', f'--checkpoint_dir={checkpoints}', *extra]


@pytest.mark.parametrize('settings, message', [
    ({'eps': -1.0}, '--max_epsilon must be >= 0.0, got -1.0'),
    ({'di_prob': 2.0}, '--prob must be <= 1.0, got 2.0'),
    ({'keep_prob': 0.0}, '--probb must be > 0.0, got 0.0'),
    ({'pkern_size': 4}, '--Pkern_size must be odd, got 4'),
    ({'tkern_size': 0}, '--Tkern_size must be >= 1, got 0'),
])
def test_setting_errors_name_the_flag(settings, message):
  """Item 12: the binary's mapping, in-process (the binary is below)."""
  with pytest.raises(ValueError) as caught:
    with cli.flag_names(cli.flags.ATTACK_FLAGS):
      fia_tf.AttackConfig(**settings)
  assert str(caught.value) == message
  # Outside the mapping the library keeps its own field names.
  with pytest.raises(ValueError, match=f'^{next(iter(settings))} must'):
    fia_tf.AttackConfig(**settings)


@pytest.mark.cli
def test_cli_usage_errors_exit_2_and_name_what_the_user_typed(
    image_dir, tmp_path, tiny_checkpoints):
  """Items 2 and 12: exit 2, the flag's name, file vs directory."""
  out = tmp_path / 'o'
  a_file = tmp_path / 'labels.txt'
  link = tmp_path / 'link'
  link.symlink_to(image_dir, target_is_directory=True)
  base = lambda *extra: _attack_args(image_dir, out, tiny_checkpoints, *extra)
  cases = [
      (base('--max_epsilon=-1'), ['--max_epsilon must be >= 0.0, got -1.0'],
       ['eps must']),
      (base(f'--input_dir={a_file}'),
       [f"image directory '{a_file}' is a file, not a directory"],
       ['does not exist']),
      (base(f'--labels={image_dir}'),
       [f"label file '{image_dir}' is a directory, not a file"],
       ['does not exist']),
      (base(f'--output_dir={a_file}'),
       [f"output directory '{a_file}' is a file, not a directory"], []),
      (base(f'--output_dir={link}', '--overwrite'),
       [f"output directory '{link}' is the input directory"], []),
  ]
  calls = [('attack.py', args, None) for args, *_ in cases]
  # evaluate.py writes its report and prediction cache into --output_dir.
  evaluate = [TINY, '--models=tiny_vgg', f'--ori_path={image_dir}',
              f'--adv_path={image_dir}', f'--output_dir={image_dir / "eval"}',
              f'--checkpoint_dir={tiny_checkpoints}']
  cases.append((evaluate, [f"output directory '{image_dir / 'eval'}' lies "
                           'inside the adversarial directory'], []))
  calls.append(('evaluate.py', evaluate, None))
  before = _snapshot(tmp_path)
  results = run_all(calls)
  for (args, wanted, unwanted), (code, _, stderr) in zip(cases, results):
    assert code == 2, (args[-1], stderr[-2000:])
    assert 'Traceback' not in stderr, (args[-1], stderr[-2000:])
    for part in wanted:
      assert part in stderr, (args[-1], part, stderr[-2000:])
    for part in unwanted:
      assert part not in stderr, (args[-1], part, stderr[-2000:])
  assert _snapshot(tmp_path) == before and not out.exists()


def _nan_checkpoints(root):
  """tiny_vgg's checkpoint with its logits biases NaN: loads, gives NaN."""
  spec = tiny.tiny_spec('tiny_vgg')
  shapes = [(n, w.shape) for n, w in
            checkpoint_lib.model_variables(spec.build()).items()]
  values = testing.golden_weights(shapes, salt=12)
  bias = [n for n in values if 'logits' in n and 'biases' in n]
  assert len(bias) == 1, sorted(values)
  values[bias[0]] = np.full_like(values[bias[0]], np.nan)
  directory = spec.checkpoint_dir(root)
  directory.mkdir(parents=True)
  testing.write_slim_checkpoint(directory / spec.checkpoint, values)
  return root, directory / spec.checkpoint


# A binary run in-process after a fault is injected: os.fsync fails with
# ENOSPC once FAULT_WRITES files were written (test only: nothing in fia_tf
# knows about it).
_FULL_DISK_RUNNER = '''
import errno, os, runpy, sys
real, count = os.fsync, [0]
def fsync(fd):
  count[0] += 1
  if count[0] > int(os.environ['FAULT_WRITES']):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
  return real(fd)
os.fsync = fsync
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name='__main__')
'''


@pytest.mark.cli
def test_cli_run_failures_exit_1_with_one_sentence(image_dir, tmp_path,
                                                   tiny_checkpoints):
  """Items 3, 6 and 7: NaN checkpoint, full disk, output in use."""
  nan_root, nan_prefix = _nan_checkpoints(tmp_path / 'nan_ckpt')
  nan_out, full_out, busy_out = (tmp_path / n for n in ('nan', 'full', 'busy'))
  holder = _hold_lock(busy_out)
  full = [PYTHON, '-c', _FULL_DISK_RUNNER,
          *command('attack.py', *_attack_args(image_dir, full_out,
                                              tiny_checkpoints))[1:]]
  try:
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env,
                              cwd=REPO)
             for cmd, env in [
                 (command('attack.py', *_attack_args(image_dir, nan_out,
                                                     nan_root)),
                  environment()),
                 (full, environment(FAULT_WRITES=1)),
                 (command('attack.py', *_attack_args(image_dir, busy_out,
                                                     tiny_checkpoints)),
                  environment())]]
    results = []
    for p in procs:
      stdout, stderr = p.communicate(timeout=600)
      results.append((p.returncode, stdout, stderr))
  finally:
    holder.send_signal(signal.SIGKILL)
    holder.wait()
  for code, _, stderr in results:
    assert code == 1, stderr[-3000:]
    assert 'Traceback' not in stderr, stderr[-3000:]
  errors = [[line for line in stderr.splitlines()
             if line.startswith('error: ')] for _, _, stderr in results]
  assert all(len(e) == 1 for e in errors), errors
  nan, disk, busy = (e[0] for e in errors)
  assert f'tiny_vgg (checkpoint: {nan_prefix})' in nan
  assert 'non-finite' in nan
  assert not list(nan_out.glob('*.png')) and not runs.is_complete(nan_out)
  assert f'no space left on device while writing into {full_out}' in disk
  assert sorted(p.name for p in full_out.iterdir()) == ['run.json']
  assert f'{busy_out} is in use by another run (process {holder.pid}' in busy
  assert not (busy_out / 'run.json').exists()
  # Space is free again: the same command completes.
  again = run('attack.py', *_attack_args(image_dir, full_out,
                                         tiny_checkpoints))
  assert '4 written, 0 already done' in again.stdout
  assert runs.is_complete(full_out)
