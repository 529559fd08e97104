"""Fixtures of the CLI tests: tiny-zoo checkpoints, image dirs, a runner.

The binaries run as subprocesses with the venv's python on the tiny zoo
(``--model_module=fia_tf.tiny_zoo``: random-weight 24-32 px slim-style
nets) and the four images of tests/data/nips17.
"""

import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

REPO = pathlib.Path(__file__).resolve().parents[2]
IMAGES = REPO / 'tests' / 'data' / 'nips17'
LABELS = REPO / 'tests' / 'data' / 'cli' / 'labels.txt'
_VENV_PY = REPO / '.venv' / 'bin' / 'python'
PYTHON = str(_VENV_PY) if _VENV_PY.exists() else sys.executable
TINY = '--model_module=fia_tf.tiny_zoo'


@pytest.fixture(scope='package', autouse=True)
def _restore_registry():
  """Importing fia_tf.tiny_zoo registers its nets in the global registry;
  take them out again so tests of other packages see the real zoo.

  Session-scoped fixtures of this package may import it before this
  fixture runs, so the tiny nets are removed by name, not by snapshot.
  """
  from fia_tf import tiny_zoo  # pylint: disable=import-outside-toplevel
  from fia_tf.zoo import registry  # pylint: disable=import-outside-toplevel
  yield
  for name in tiny_zoo.TINY_MODELS:
    registry.REGISTRY.pop(name, None)


def command(script, *args):
  return [PYTHON, str(REPO / 'experiments' / script), *map(str, args)]


def environment(**extra):
  env = dict(os.environ)
  env['TF_CPP_MIN_LOG_LEVEL'] = '3'
  env.pop('FIA_TF_MODEL_MODULES', None)
  env.update({k: str(v) for k, v in extra.items()})
  return env


def run(script, *args, expect=0, env=None, cwd=None):
  """Runs a binary; asserts its exit status; returns the CompletedProcess."""
  result = subprocess.run(command(script, *args), capture_output=True,
                          text=True, env=env or environment(),
                          cwd=cwd or REPO, timeout=600, check=False)
  if expect is not None:
    assert result.returncode == expect, (
        f'exit {result.returncode}\nstdout:\n{result.stdout}\n'
        f'stderr:\n{result.stderr[-4000:]}')
  return result


def run_all(calls):
  """Runs several ``(script, args, env)`` binaries in parallel (each one
  mostly imports TensorFlow); returns ``[(returncode, stdout, stderr)]``."""
  procs = [subprocess.Popen(command(script, *args), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env=env or environment(), cwd=REPO)
           for script, args, env in calls]
  out = []
  for p in procs:
    stdout, stderr = p.communicate(timeout=600)
    out.append((p.returncode, stdout, stderr))
  return out


@pytest.fixture(scope='session')
def checkpoints(tmp_path_factory):
  from fia_tf import tiny_zoo  # pylint: disable=import-outside-toplevel
  return tiny_zoo.write_tiny_checkpoints(tmp_path_factory.mktemp('ckpt'))


@pytest.fixture
def image_dir(tmp_path):
  """A copy of the four test images with labels.txt next to them."""
  directory = tmp_path / 'images'
  directory.mkdir()
  for path in IMAGES.glob('*.png'):
    shutil.copy(path, directory / path.name)
  shutil.copy(LABELS, tmp_path / 'labels.txt')
  return directory


def labels_of(names):
  lines = LABELS.read_text().split()
  return {n: int(lines[int(pathlib.PurePath(n).stem) - 1]) for n in names}


def read_png(path):
  import imageio.v3 as iio  # pylint: disable=import-outside-toplevel
  return np.asarray(iio.imread(path))


def resize(pixels, size):
  """The documented filter, written out here: bilinear, antialiased."""
  pixels = np.asarray(pixels, np.float32)
  if pixels.shape[-2] == size and pixels.shape[-3] == size:
    return pixels
  return np.clip(tf.image.resize(pixels, [size, size], 'bilinear',
                                 antialias=True).numpy(), 0, 255)


_MODELS = {}


def predict(name, checkpoint_dir, images):
  """1001-class predictions of tiny-zoo model ``name`` (built here)."""
  from fia_tf import tiny_zoo  # pylint: disable=import-outside-toplevel
  from fia_tf.zoo import registry  # pylint: disable=import-outside-toplevel
  del tiny_zoo
  spec = registry.get_spec(name)
  key = (name, str(checkpoint_dir))
  if key not in _MODELS:
    model = spec.build()
    spec.load_weights(model, checkpoint_dir)
    _MODELS[key] = model
  images = resize(np.stack(images), spec.input_size)
  logits = _MODELS[key](spec.preprocess(tf.constant(images)), training=False)
  return np.argmax(logits.numpy(), axis=-1) - spec.label_offset
