"""Bad input: odd and broken image files, mismatched labels, bad flags."""

import json
import shutil
import struct
import zlib

import imageio.v3 as iio
import numpy as np

from tests.helpers.binaries import TINY
from tests.helpers.binaries import run
from tests.helpers.binaries import run_all
from tests.helpers.checks import read_png
from tests.helpers.paths import IMAGES
from tests.helpers.paths import LABELS


def _png16_rgb(pixels):
  """A 16-bit RGB PNG, written by hand (imageio cannot)."""
  height, width, _ = pixels.shape
  raw = b''.join(b'\x00' + pixels[i].astype('>u2').tobytes()
                 for i in range(height))

  def chunk(kind, body):
    return (struct.pack('>I', len(body)) + kind + body +
            struct.pack('>I', zlib.crc32(kind + body) & 0xffffffff))
  header = struct.pack('>IIBBBBB', width, height, 16, 2, 0, 0, 0)
  return (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', header) +
          chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b''))


def _bad_dir(tmp_path):
  directory = tmp_path / 'images'
  directory.mkdir()
  shutil.copy(LABELS, tmp_path / 'labels.txt')
  good = (IMAGES / '1.png').read_bytes()
  rgb = read_png(IMAGES / '2.png')
  (directory / '1.png').write_bytes(good)
  corrupt = bytearray(good)
  corrupt[400:700] = bytes(300)
  (directory / '2.png').write_bytes(bytes(corrupt))
  (directory / '3.png').write_bytes(good[:len(good) // 2])
  (directory / '4.png').write_text('this is not an image\n')
  iio.imwrite(directory / '5.png', rgb.mean(-1).astype(np.uint8))
  rgba = np.concatenate([rgb, np.full(rgb.shape[:2] + (1,), 128, np.uint8)],
                        -1)
  iio.imwrite(directory / '6.png', rgba)
  (directory / '7.png').write_bytes(
      _png16_rgb(rgb.astype(np.uint16) * 257))
  iio.imwrite(directory / '8.png', (rgb.astype(np.uint16) * 257)[..., 0])
  iio.imwrite(directory / '9.png', np.resize(rgb, (200, 300, 3)))
  return directory


def test_bad_files_are_skipped_and_reported(tmp_path, checkpoints):
  inputs = _bad_dir(tmp_path)
  out = tmp_path / 'adv'
  result = run('attack.py', TINY, '--model_name=tiny_inception',
               '--attack_method=MIM', f'--input_dir={inputs}',
               f'--output_dir={out}', f'--checkpoint_dir={checkpoints}',
               '--batch_size=4')
  written = sorted(p.name for p in out.glob('*.png'))
  assert written == ['1.png', '5.png', '6.png', '7.png', '8.png', '9.png']
  for name in written:
    pixels = read_png(out / name)
    assert pixels.shape == (32, 32, 3) and pixels.dtype == np.uint8
  assert '6 written, 0 already done, 3 skipped' in result.stdout
  for name in ('2.png', '3.png', '4.png'):
    assert f'skipped {name}:' in result.stdout
  assert 'not an image in a known format' in result.stdout
  assert 'truncated' in result.stdout
  record = json.loads((out / 'run.json').read_text())
  assert [s['file'] for s in record['skipped']] == ['2.png', '3.png',
                                                     '4.png']
  notes = {n['file']: n['note'] for n in record['notes']}
  assert 'grayscale' in notes['5.png']
  assert 'alpha' in notes['6.png']
  assert '16-bit' in notes['7.png'] and '16-bit' in notes['8.png']
  assert '300x200' in notes['9.png']
  assert 'Traceback' not in result.stderr

  # Resuming finds everything done (unreadable files stay skipped).
  again = run('attack.py', TINY, '--model_name=tiny_inception',
              '--attack_method=MIM', f'--input_dir={inputs}',
              f'--output_dir={out}', f'--checkpoint_dir={checkpoints}',
              '--batch_size=4')
  assert '0 written, 6 already done, 3 skipped' in again.stdout

  # The evaluation counts the 6 pairs and lists the 3 missing files.
  report_dir = tmp_path / 'eval'
  run('evaluate.py', TINY, '--models=tiny_inception', f'--ori_path={inputs}',
      f'--adv_path=bad={out}', f'--output_dir={report_dir}',
      f'--checkpoint_dir={checkpoints}')
  row = json.loads((report_dir / 'evaluation.json').read_text())['rows'][0]
  assert row['n'] == 6
  assert row['missing'] == ['2.png', '3.png', '4.png']


def test_errors_are_messages_not_tracebacks(tmp_path, checkpoints):
  good = tmp_path / 'good'
  good.mkdir()
  shutil.copy(IMAGES / '1.png', good / '1.png')
  shutil.copy(LABELS, tmp_path / 'labels.txt')
  # An image the labels do not know.
  named = tmp_path / 'named' / 'images'
  named.mkdir(parents=True)
  shutil.copy(IMAGES / '1.png', named / '1.png')
  shutil.copy(IMAGES / '2.png', named / 'cat.png')
  shutil.copy(LABELS, named.parent / 'labels.txt')
  empty_ckpt = tmp_path / 'no_checkpoints'
  empty_ckpt.mkdir()
  base = [TINY, f'--checkpoint_dir={checkpoints}']
  # One case per kind of error the binary must turn into a message; the
  # variants of each kind are checked in-process (test_data.py).
  cases = [
      (['--model_name=tiny_vgg', f'--input_dir={named}'],
       2, "1 image(s) have no label in", 'cat.png'),
      (['--model_name=inception_v5', f'--input_dir={good}'],
       2, "unknown model 'inception_v5'", 'known models:'),
      (['--max_epsilon=-1', '--model_name=tiny_vgg', f'--input_dir={good}'],
       2, '--max_epsilon must be >= 0.0, got -1.0', ''),
      (['--image_size=224', '--model_name=tiny_vgg', f'--input_dir={good}'],
       2, 'image_size 224 does not fit tiny_vgg', ''),
      # Part options: a bad value names the option, an unknown one lists
      # the method's, a malformed one shows the form.
      (['--attack_method=BFA', '--option=bfa_eta=-1', '--model_name=tiny_vgg',
        f'--input_dir={good}'], 2, '--option bfa_eta must be >= 0', ''),
      (['--attack_method=NAA', '--option=bfa_eta=3', '--model_name=tiny_vgg',
        f'--input_dir={good}'], 2, "NAA has no option(s) ['bfa_eta']",
       'naa_gamma'),
      (['--option=bfa_eta', '--model_name=tiny_vgg', f'--input_dir={good}'],
       2, "--option must be NAME=VALUE, got 'bfa_eta'", ''),
  ]
  calls = [('attack.py', base + args + [f'--output_dir={tmp_path / "o"}'],
            None) for args, *_ in cases]
  calls.append(('attack.py', [TINY, '--model_name=tiny_vgg',
                              f'--input_dir={good}',
                              f'--checkpoint_dir={empty_ckpt}',
                              f'--output_dir={tmp_path / "o"}'], None))
  calls.append(('evaluate.py', [TINY, '--models=tiny_vgg',
                                f'--ori_path={good}',
                                f'--adv_path={tmp_path / "nope"}',
                                f'--checkpoint_dir={checkpoints}'], None))
  with_option = tmp_path / 'with_option'
  calls.append(('attack.py', base + [
      '--model_name=tiny_vgg', '--attack_method=BFA', '--ens=2',
      '--num_iter=1', '--option=bfa_eta=3.5', f'--input_dir={good}',
      f'--output_dir={with_option}'], None))
  results = run_all(calls)
  code, _, stderr = results[-1]
  assert code == 0, stderr[-2000:]
  record = json.loads((with_option / 'run.json').read_text())
  assert record['config']['options'] == {'bfa_eta': 3.5}
  for (args, status, *parts), (code, _, stderr) in zip(cases, results):
    assert code == status, (args, stderr[-2000:])
    assert 'Traceback' not in stderr, args
    for part in parts:
      assert part in stderr, (args, part, stderr[-2000:])
  code, _, stderr = results[len(cases)]
  assert code == 3 and 'Traceback' not in stderr
  assert 'No checkpoint for tiny_vgg' in stderr
  code, _, stderr = results[len(cases) + 1]
  assert code == 2 and 'does not exist' in stderr
  assert not (tmp_path / 'o').exists()  # nothing written before the checks
