"""``experiments/demo_advtrain.py``: flags reach the library; bad values
exit with a message naming them."""

import csv

from tests.helpers.binaries import run


def test_small_run_writes_the_tables(tmp_path):
  out = tmp_path / 'advtrain'
  run('demo_advtrain.py', '--variants=clean,MIM', '--sources=vgg',
      '--methods=MIM', '--epochs=1', '--train_images=4', '--eval_images=4',
      '--train_num_iter=1', f'--output_dir={out}')
  with open(out / 'summary.csv') as f:
    rows = list(csv.DictReader(f))
  assert {r['variant'] for r in rows} == {'base', 'clean', 'MIM'}
  assert all(r['n'] == '4' for r in rows)
  assert (out / 'table_correct.csv').is_file()


def test_bad_variant_is_named(tmp_path):
  result = run('demo_advtrain.py', '--variants=clean,NOPE',
               f'--output_dir={tmp_path}', expect=2)
  assert "variant 'NOPE'" in result.stderr
  assert 'Traceback' not in result.stderr
