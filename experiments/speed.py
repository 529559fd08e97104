"""Attack engine speed and memory against its roofline (``make speed``).

For the slim-zoo nets with random weights (their FIA layers are the
paper's), times FIA (N = 30, T = 10) with its default vectorised passes and
with the per-mask loop, MIM, FIA+PIDIM, BFA and P2FA, and for FIA, BFA and
P2FA their rooflines (:mod:`fia_tf.perf.roofline`). Each (model, batch, XLA setting) runs in a fresh
child process, so its peak RSS is its own. One JSON line per measurement goes
to stdout (and is appended to ``--output``); progress and a final Markdown
table go to stderr.

  python experiments/speed.py --output=results/speed/engine.jsonl
  python experiments/speed.py --models=resnet_v1_50 --batches=1 \
      --ens=2 --num_iter=1 --repeats=1 --xla=off
"""

import json
import os
import pathlib
import subprocess
import sys

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

from absl import flags  # pylint: disable=g-import-not-at-top,wrong-import-position
from absl import logging

from fia_tf import cli
from fia_tf.perf import roofline

_MODELS = flags.DEFINE_list('models', list(roofline.ZOO_MODELS),
                            'Slim-zoo models (random weights).')
_BATCHES = flags.DEFINE_list('batches', ['4', '20'], 'Batch sizes B.')
_XLA = flags.DEFINE_multi_enum('xla', ['off', 'on'], ['off', 'on'],
                               'jit_compile settings to measure.')
_XLA_MAX_BATCH = flags.DEFINE_integer(
    'xla_max_batch', 4, 'Measure XLA on only at batches up to this (XLA on '
    'is ~2.5x slower on CPUs); negative: at every batch.')
_METHODS = flags.DEFINE_list(
    'methods', list(roofline.METHODS) + list(roofline.CHAIN_METHODS),
    'Attack methods; FIA, BFA and P2FA also get their rooflines.')
_REPEATS = flags.DEFINE_integer('repeats', 2,
                                'Timed calls after a warm-up; best kept.')
_ENS = flags.DEFINE_integer('ens', 30, 'FIA masked copies N.')
_ITERS = flags.DEFINE_integer('num_iter', 10, 'Iterations T.')
_PER_MASK = flags.DEFINE_boolean('per_mask', True,
                                 "Also measure FIA's per-mask loop.")
_SKIP = flags.DEFINE_list('skip', [], 'MODEL:BATCH cells not to run, e.g. '
                          'vgg_16:20 when it does not fit in memory.')
_SHARED = cli.flags.define(
    'memory_budget_mib', 'seed',
    seed=(0, 'Seed of the random images and labels.'))
_OUTPUT = flags.DEFINE_string('output', None,
                              'JSONL file the records are appended to.')
_WORKER = flags.DEFINE_boolean('worker', False, 'Internal: run one cell '
                               '(first model, batch, XLA setting) here.')


def _worker():
  """Measures one (model, batch, xla) cell; JSON lines to stdout."""
  source, spec = roofline.zoo_source(_MODELS.value[0])
  batch = int(_BATCHES.value[0])
  images, labels = roofline.random_batch(source, batch, _SHARED['seed'].value)
  budget = cli.memory_budget(_SHARED['memory_budget_mib'].value)
  for record in roofline.iter_measure(
      source, images, labels, methods=_METHODS.value, ens=_ENS.value,
      num_iter=_ITERS.value, jit_compile=_XLA.value[0] == 'on',
      memory_budget=budget, per_mask=_PER_MASK.value, repeats=_REPEATS.value,
      log=logging.info):
    record['slim_layer'] = spec.default_layer
    print(json.dumps(record), flush=True)


def _child_args(model, batch, jit):
  args = [sys.executable, str(pathlib.Path(__file__).resolve()), '--worker',
          f'--models={model}', f'--batches={batch}',
          f'--xla={"on" if jit else "off"}',
          f'--methods={",".join(_METHODS.value)}',
          f'--repeats={_REPEATS.value}', f'--ens={_ENS.value}',
          f'--num_iter={_ITERS.value}', f'--seed={_SHARED["seed"].value}',
          '--per_mask' if _PER_MASK.value else '--noper_mask']
  if _SHARED['memory_budget_mib'].value is not None:
    args.append(f'--memory_budget_mib={_SHARED["memory_budget_mib"].value}')
  return args


def main(argv):
  del argv
  if _WORKER.value:
    _worker()
    return
  max_batch = _XLA_MAX_BATCH.value if _XLA_MAX_BATCH.value >= 0 else None
  cells = roofline.plan(_MODELS.value, [int(b) for b in _BATCHES.value],
                        [x == 'on' for x in dict.fromkeys(_XLA.value)],
                        xla_max_batch=max_batch, skip=_SKIP.value)
  output = None
  if _OUTPUT.value:
    pathlib.Path(_OUTPUT.value).parent.mkdir(parents=True, exist_ok=True)
    output = open(_OUTPUT.value, 'a', encoding='utf-8')
  records, failed = [], []
  try:
    for i, (model, batch, jit) in enumerate(cells, 1):
      logging.info('cell %d/%d: %s batch %d xla %s', i, len(cells), model,
                   batch, 'on' if jit else 'off')
      # stderr is inherited, so the child's progress shows as it happens.
      with subprocess.Popen(_child_args(model, batch, jit),
                            stdout=subprocess.PIPE, text=True) as child:
        for line in child.stdout:
          try:
            record = json.loads(line)
          except json.JSONDecodeError:
            # Something in the child printed to stdout; keep the JSON clean.
            sys.stderr.write(line)
            continue
          print(line, end='', flush=True)
          if output:
            output.write(line)
            output.flush()
          records.append(record)
      if child.returncode:
        # A cell killed for memory should not lose the other cells.
        logging.error('%s batch %d xla %s failed with exit code %d', model,
                      batch, 'on' if jit else 'off', child.returncode)
        failed.append((model, batch, jit))
  finally:
    if output:
      output.close()
  if records:
    logging.info('summary:\n%s', roofline.summary_markdown(records))
  if failed:
    raise SystemExit(f'{len(failed)} cell(s) failed: {failed}')


if __name__ == '__main__':
  cli.run(main)
