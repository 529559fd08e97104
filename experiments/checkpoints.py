"""Fetches, verifies and records the official slim checkpoints (``make checkpoints``).

  python experiments/checkpoints.py                  # the paper's 14 models
  python experiments/checkpoints.py --models=vgg_16,inception_v3
  python experiments/checkpoints.py --models=vgg_16 --tarball=vgg_16.tar.gz
  python experiments/checkpoints.py --check --record  # hand-placed files

Each model's official tarball (download.tensorflow.org/models/) is
extracted into ``<checkpoint_dir>/<name>/``, verified by loading it into the
Keras model with the strict loader, and its files' SHA-256 sums recorded in
``SHA256SUMS`` there; later runs and ``--check`` compare against them.
Offline, it says for each model which file to put where. Exit status: 0
done, 2 bad input, 3 a checkpoint could not be fetched or verified.
"""

import os
import pathlib
import sys

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

from absl import flags  # pylint: disable=g-import-not-at-top,wrong-import-position

from fia_tf import cli
from fia_tf.zoo import checkpoint as checkpoint_lib
from fia_tf.zoo import download
from fia_tf.zoo import registry

REPO = pathlib.Path(__file__).resolve().parents[1]

_MODELS = flags.DEFINE_list(
    'models', ['paper'], "Registry names, 'paper' (the paper's 14) or 'all'.")
_TARBALL = flags.DEFINE_string(
    'tarball', None, 'Use this local copy of the official tarball (one '
    'model only).')
_FORCE = flags.DEFINE_bool('force', False, 'Fetch again even if a verified '
                           'checkpoint is present.')
_VERIFY = flags.DEFINE_bool('verify', True, 'Verify by loading the '
                            'checkpoint into the Keras model.')
_CHECK = flags.DEFINE_bool('check', False, 'Only check present files '
                           'against their SHA256SUMS.')
_RECORD = flags.DEFINE_bool('record', False, 'With --check: verify, then '
                            '(re)write SHA256SUMS for hand-placed files.')
_SHARED = cli.flags.define('checkpoint_dir',
                           checkpoint_dir=str(REPO / 'checkpoints'))


def main(argv):
  cli.flags.start(argv, _SHARED)
  models = download.expand(_MODELS.value)
  for name in models:
    registry.get_spec(name)  # an unknown name stops everything: exit 2
  if _TARBALL.value and len(models) != 1:
    raise ValueError('--tarball needs exactly one model in --models')
  root = _SHARED['checkpoint_dir'].value
  failed = 0
  for name in models:
    try:
      if _CHECK.value:
        if _RECORD.value:
          if _VERIFY.value:
            download.verify(name, root)
          download.record(name, root)
        download.check(name, root)
        print(f'{name}: ok')
      else:
        prefix = download.download(name, root, tarball=_TARBALL.value,
                                   force=_FORCE.value,
                                   verify_weights=_VERIFY.value)
        print(f'{name}: {prefix}')
    except (download.DownloadError, registry.CheckpointNotFoundError,
            checkpoint_lib.CheckpointError) as e:
      failed += 1
      print(f'{name}: {e}', file=sys.stderr)
  return cli.EXIT_CHECKPOINT if failed else 0


if __name__ == '__main__':
  cli.run(main)
