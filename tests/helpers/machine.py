"""What machine the tests run on (for logs and benchmark records)."""

import os

from fia_tf.records import cpu_model


def cpu_flags():
  """The CPU feature flags that pick oneDNN's kernels (AVX2, AVX-512, ...)."""
  try:
    with open('/proc/cpuinfo', encoding='utf-8') as f:
      for line in f:
        if line.startswith('flags'):
          flags = set(line.partition(':')[2].split())
          return [f for f in ('avx2', 'fma', 'avx512f', 'avx512_vnni',
                              'avx512_bf16', 'amx_tile') if f in flags]
  except OSError:
    pass
  return []


def report_line():
  """One line: CPU model, vector extensions, cores."""
  return (f'cpu: {cpu_model()} [{" ".join(cpu_flags()) or "flags unknown"}]'
          f', {os.cpu_count()} cores')
