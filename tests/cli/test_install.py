"""A non-editable install in a fresh venv works without the repository.

``pip install .`` (not ``-e``) into a new virtual environment, then, from a
directory outside the repository: the package imports from site-packages,
finds its package data, and ``experiments/attack.py`` attacks the test
images on a tiny net. This is what a user who installs fia_tf gets; the
library must not reach into the repository for anything.
"""

import json
import subprocess
import sys

import pytest

from tests.helpers.binaries import TINY
from tests.helpers.binaries import environment
from tests.helpers.paths import IMAGES
from tests.helpers.paths import LABELS
from tests.helpers.paths import REPO

pytestmark = pytest.mark.slow

_PROBE = '''
import importlib
import json
import pkgutil
import fia_tf
from fia_tf.zoo import download, registry
modules = sorted(m.name for m in pkgutil.walk_packages(fia_tf.__path__,
                                                       "fia_tf."))
files = [importlib.import_module(m).__file__ for m in modules]
print(json.dumps({"file": fia_tf.__file__, "modules": modules,
                  "module_files": files,
                  "manifest": len(download.load_manifest()["models"]),
                  "models": len(registry.names_list("all"))}))
'''


def test_non_editable_install_runs_a_binary(tmp_path, tiny_checkpoints):
  venv = tmp_path / 'venv'
  subprocess.run([sys.executable, '-m', 'venv', str(venv)], check=True,
                 timeout=300)
  python = venv / 'bin' / 'python'
  install = subprocess.run(
      [str(python), '-m', 'pip', 'install', '--quiet',
       '--disable-pip-version-check', str(REPO)], capture_output=True,
      text=True, timeout=1800, check=False)
  assert install.returncode == 0, install.stderr[-3000:]
  elsewhere = tmp_path / 'elsewhere'
  elsewhere.mkdir()
  env = environment()
  env.pop('PYTHONPATH', None)
  probe = subprocess.run([str(python), '-c', _PROBE], capture_output=True,
                         text=True, cwd=elsewhere, env=env, timeout=300,
                         check=True)
  found = json.loads(probe.stdout.strip().splitlines()[-1])
  assert str(venv) in found['file'] and str(REPO) not in found['file']
  assert found['manifest'] >= 14 and found['models'] >= 19
  # Every subpackage ships (a directory without __init__.py would not).
  for name in ('fia_tf.demos.advtrain', 'fia_tf.demos.imagenet',
               'fia_tf.demos.mini.demo', 'fia_tf.evaluation.defences.jpeg',
               'fia_tf.attacks.objectives.p2fa'):
    assert name in found['modules'], name
  assert all(str(venv) in f for f in found['module_files'])
  out = tmp_path / 'adv'
  attack = subprocess.run(
      [str(python), str(REPO / 'experiments' / 'attack.py'), TINY,
       '--model_name=tiny_vgg', '--attack_method=FIA', '--ens=2',
       '--num_iter=2', f'--input_dir={IMAGES}', f'--labels={LABELS}',
       f'--output_dir={out}', f'--checkpoint_dir={tiny_checkpoints}'],
      capture_output=True, text=True, cwd=elsewhere, env=env, timeout=600,
      check=False)
  assert attack.returncode == 0, attack.stderr[-3000:]
  assert sorted(p.name for p in out.glob('*.png')) == [
      '1.png', '2.png', '44.png', '50.png']
  record = json.loads((out / 'run.json').read_text())
  assert record['status'] == 'complete' and record['written'] == 4
