"""What a result record says about where it came from.

Every run record (``run.json`` of an attacked directory, the record of a
transfer evaluation, a benchmark line) carries :func:`provenance`: the
versions that can change results and the machine that computed them
(float results differ across CPUs at the last bits).
"""

import os
import platform

import keras
import numpy as np
import tensorflow as tf


def versions():
  """Versions that can change results."""
  import fia_tf  # pylint: disable=import-outside-toplevel
  return {'fia_tf': fia_tf.__version__, 'tensorflow': tf.__version__,
          'keras': keras.__version__, 'numpy': np.__version__,
          'python': platform.python_version()}


def cpu_model():
  """The CPU's model name (what ``lscpu`` calls "Model name")."""
  try:
    with open('/proc/cpuinfo', encoding='utf-8') as f:
      for line in f:
        if line.startswith('model name'):
          return line.partition(':')[2].strip()
  except OSError:
    pass
  return platform.processor() or platform.machine()


def machine():
  """CPU model, core count and visible GPUs."""
  return {'cpu': cpu_model(), 'cores': os.cpu_count(),
          'gpus': [d.name for d in tf.config.list_physical_devices('GPU')]}


def provenance():
  """``{'versions': ..., 'machine': ...}`` for a run record."""
  return {'versions': versions(), 'machine': machine()}
