"""Running the binaries of ``experiments/`` as subprocesses, as users do."""

import os
import subprocess
import sys

from tests.helpers.paths import REPO

_VENV_PY = REPO / '.venv' / 'bin' / 'python'
PYTHON = str(_VENV_PY) if _VENV_PY.exists() else sys.executable
# The flag that gives a binary the tiny zoo (fia_tf.zoo.tiny).
TINY = '--model_module=fia_tf.zoo.tiny'


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
