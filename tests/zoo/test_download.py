"""Checkpoint download bookkeeping, offline: local tarballs and a dead URL."""

import io
import pathlib
import tarfile

import pytest

from fia_tf.zoo import download
from fia_tf.zoo import registry

from tests.helpers.zoo import tiny_spec
from tests.helpers.zoo import write_tiny_checkpoint


def _make_tarball(tmp_path, spec, subdir=''):
  """A fake official tarball holding a valid tiny-net checkpoint."""
  staging = tmp_path / 'staging'
  write_tiny_checkpoint(spec, staging)
  files = sorted(spec.checkpoint_dir(staging).iterdir())
  tar_path = tmp_path / spec.tarball
  with tarfile.open(tar_path, 'w:gz') as tar:
    for f in files:
      tar.add(f, arcname=f'{subdir}{f.name}')
  return tar_path


def test_offline_message_says_where_to_put_files(tmp_path):
  spec = tiny_spec()
  with pytest.raises(download.DownloadError) as e:
    # Port 9 (discard) on localhost refuses at once; no network needed.
    download.download(spec, checkpoint_dir=tmp_path,
                      url='http://127.0.0.1:9/tiny_net.tar.gz', timeout=5)
  message = str(e.value)
  assert 'Cannot download http://127.0.0.1:9/tiny_net.tar.gz' in message
  assert str(tmp_path / 'tiny_net') in message
  assert '--tarball' in message
  assert message.count('\n') == 0


@pytest.mark.parametrize('subdir', ['', 'tiny_net_2017/'])
def test_download_from_local_tarball_records_hashes(tmp_path, subdir):
  spec = tiny_spec()
  tar_path = _make_tarball(tmp_path, spec, subdir)
  root = tmp_path / 'ckpt'
  prefix = download.download(spec, checkpoint_dir=root, tarball=tar_path)
  assert pathlib.Path(prefix) == root / 'tiny_net' / 'tiny_net.ckpt'
  sums = (root / 'tiny_net' / download.SUMS_FILE).read_text()
  assert download.sha256(tar_path) in sums
  assert 'tiny_net.ckpt.index' in sums
  assert download.check(spec, root)
  # A second call finds the verified files and does nothing.
  assert download.download(spec, checkpoint_dir=root,
                           url='http://127.0.0.1:9/x') == prefix


def test_check_detects_truncated_file(tmp_path):
  spec = tiny_spec()
  root = tmp_path / 'ckpt'
  download.download(spec, checkpoint_dir=root,
                    tarball=_make_tarball(tmp_path, spec))
  data = next((root / 'tiny_net').glob('tiny_net.ckpt.data-*'))
  data.write_bytes(data.read_bytes()[:-7])
  with pytest.raises(download.DownloadError, match='changed since it was '
                     'verified'):
    download.check(spec, root)


def test_check_without_record(tmp_path):
  spec = tiny_spec()
  write_tiny_checkpoint(spec, tmp_path)
  with pytest.raises(download.DownloadError, match='--check --record'):
    download.check(spec, tmp_path)
  download.record(spec, tmp_path)
  assert download.check(spec, tmp_path)


def test_pinned_hash_mismatch(tmp_path):
  spec = tiny_spec()
  manifest = {'models': {'tiny_net': {'tarball_sha256': '0' * 64}}}
  with pytest.raises(download.DownloadError, match='pins'):
    download.download(spec, checkpoint_dir=tmp_path / 'c', manifest=manifest,
                      tarball=_make_tarball(tmp_path, spec))


def test_tarball_without_the_checkpoint(tmp_path):
  spec = tiny_spec()
  tar_path = tmp_path / 'empty.tar.gz'
  with tarfile.open(tar_path, 'w:gz') as tar:
    info = tarfile.TarInfo('README')
    info.size = 2
    tar.addfile(info, io.BytesIO(b'hi'))
  with pytest.raises(download.DownloadError, match='did not contain'):
    download.download(spec, checkpoint_dir=tmp_path / 'c', tarball=tar_path)


def test_tarball_with_wrong_variables_fails_verification(tmp_path):
  spec = tiny_spec()
  tar_path = _make_tarball(tmp_path, spec)
  other = tiny_spec(builder='fia_tf.zoo.tiny:tiny_net', num_classes=12)
  with pytest.raises(download.DownloadError, match='does not fit'):
    download.download(other, checkpoint_dir=tmp_path / 'c', tarball=tar_path)
  assert not (tmp_path / 'c' / 'tiny_net' / download.SUMS_FILE).exists()


def test_unsafe_tarball_member(tmp_path):
  tar_path = tmp_path / 'evil.tar.gz'
  with tarfile.open(tar_path, 'w:gz') as tar:
    info = tarfile.TarInfo('../evil.txt')
    info.size = 1
    tar.addfile(info, io.BytesIO(b'x'))
  with pytest.raises(download.DownloadError, match='refusing'):
    download.download(tiny_spec(), checkpoint_dir=tmp_path / 'c',
                      tarball=tar_path)


def test_manifest_loads():
  manifest = download.load_manifest()
  assert set(manifest['models']) == set(registry.names_list())
