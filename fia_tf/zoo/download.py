"""Fetches, verifies and fingerprints the official slim checkpoints.

:func:`download` fetches a model's official tarball (listed in the package's
``manifest.json`` and :mod:`fia_tf.zoo.registry`), extracts it into
``<checkpoint_dir>/<name>/``, verifies it by loading it into the Keras model
with the strict loader, and records the SHA-256 of every checkpoint file in
``<checkpoint_dir>/<name>/SHA256SUMS``. :func:`check` recomputes the
hashes, so a changed or truncated file is reported instead of being loaded.
The binary is ``experiments/checkpoints.py`` (``make checkpoints``).

Offline, fetch the tarball elsewhere and pass it as ``tarball`` (or extract
it by hand into ``<checkpoint_dir>/<name>/`` and :func:`record` it).
"""

import hashlib
import json
import pathlib
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request

from fia_tf.zoo import checkpoint as checkpoint_lib
from fia_tf.zoo import registry

SUMS_FILE = 'SHA256SUMS'
# Package data: the official tarballs and their pinned hashes.
MANIFEST = pathlib.Path(__file__).resolve().parent / 'manifest.json'
_CHUNK = 1 << 20


class DownloadError(RuntimeError):
  """A checkpoint could not be fetched, extracted, verified or matched."""


def sha256(path):
  """Hex SHA-256 of a file, read in chunks."""
  digest = hashlib.sha256()
  with open(path, 'rb') as f:
    for block in iter(lambda: f.read(_CHUNK), b''):
      digest.update(block)
  return digest.hexdigest()


def load_manifest(path=MANIFEST):
  """The parsed ``manifest.json`` (``{}`` if it is absent)."""
  try:
    with open(path) as f:
      return json.load(f)
  except FileNotFoundError:
    return {}


def _spec(model):
  return model if isinstance(model, registry.ModelSpec) else (
      registry.get_spec(model))


def checkpoint_files(spec, checkpoint_dir=None):
  """The files making up the model's checkpoint (V1 file or V2 pieces)."""
  prefix, _ = spec.find_checkpoint(checkpoint_dir)
  prefix = pathlib.Path(prefix)
  if prefix.is_file():
    return [prefix]
  return sorted(p for p in prefix.parent.iterdir()
                if p.name == prefix.name + '.index'
                or p.name.startswith(prefix.name + '.data-'))


def _read_sums(directory):
  sums = {}
  path = pathlib.Path(directory) / SUMS_FILE
  if not path.exists():
    return None
  for line in path.read_text().splitlines():
    if line.strip():
      digest, _, name = line.partition('  ')
      sums[name] = digest
  return sums


def record(model, checkpoint_dir=None, extra=None):
  """Writes ``SHA256SUMS`` for the model's checkpoint files.

  Args:
    model: registry name or :class:`registry.ModelSpec`.
    checkpoint_dir: checkpoint root (default: the registry default).
    extra: optional ``{file name: digest}`` to record as well (the tarball).

  Returns:
    dict from file name to digest.
  """
  spec = _spec(model)
  directory = spec.checkpoint_dir(checkpoint_dir)
  sums = {p.name: sha256(p) for p in checkpoint_files(spec, checkpoint_dir)}
  sums.update(extra or {})
  lines = [f'{digest}  {name}' for name, digest in sorted(sums.items())]
  (directory / SUMS_FILE).write_text('\n'.join(lines) + '\n')
  return sums


def check(model, checkpoint_dir=None):
  """Verifies the checkpoint files against the recorded ``SHA256SUMS``.

  Returns:
    ``True`` if every recorded checkpoint file is present and unchanged.

  Raises:
    registry.CheckpointNotFoundError: if the checkpoint is missing.
    DownloadError: if no hashes were recorded, or a file changed.
  """
  spec = _spec(model)
  directory = spec.checkpoint_dir(checkpoint_dir)
  files = checkpoint_files(spec, checkpoint_dir)
  sums = _read_sums(directory)
  if sums is None:
    raise DownloadError(
        f'{spec.name}: no {SUMS_FILE} in {directory}; run `python '
        f'experiments/checkpoints.py --models={spec.name} --check --record` '
        'to verify and record the files')
  for path in files:
    if path.name not in sums:
      raise DownloadError(f'{spec.name}: {path} is not listed in '
                          f'{directory / SUMS_FILE}; re-run the download')
    actual = sha256(path)
    if actual != sums[path.name]:
      raise DownloadError(
          f'{spec.name}: {path} changed since it was verified (SHA-256 '
          f'{actual}, recorded {sums[path.name]}); it may be truncated or '
          f'replaced - delete {directory} and download again')
  return True


def verify(model, checkpoint_dir=None):
  """Loads the checkpoint into a freshly built model with the strict loader.

  Returns:
    The :class:`checkpoint.LoadReport`.
  """
  spec = _spec(model)
  keras_model = spec.build()
  return spec.load_weights(keras_model, checkpoint_dir)


def _safe_extract(tar_path, directory):
  directory = pathlib.Path(directory).resolve()
  with tarfile.open(tar_path) as tar:
    members = tar.getmembers()
    for member in members:
      target = (directory / member.name).resolve()
      if directory not in target.parents and target != directory:
        raise DownloadError(f'{tar_path}: refusing to extract {member.name!r} '
                            f'outside {directory}')
      if not (member.isfile() or member.isdir()):
        raise DownloadError(f'{tar_path}: unexpected member type for '
                            f'{member.name!r} (links are not extracted)')
    tar.extractall(directory, members=members)
  # Some archives put the checkpoint in a sub-folder; flatten one level so
  # the prefix is always <dir>/<checkpoint>.
  for member in members:
    parts = pathlib.PurePosixPath(member.name).parts
    if member.isfile() and len(parts) > 1:
      src = directory.joinpath(*parts)
      dst = directory / parts[-1]
      if not dst.exists():
        shutil.move(str(src), str(dst))


def _fetch(url, destination, timeout):
  try:
    with urllib.request.urlopen(url, timeout=timeout) as response, open(
        destination, 'wb') as out:
      shutil.copyfileobj(response, out, _CHUNK)
  except (urllib.error.URLError, OSError, ValueError) as e:
    reason = getattr(e, 'reason', e)
    raise DownloadError(str(reason)) from e


def download(model, checkpoint_dir=None, tarball=None, url=None, force=False,
             verify_weights=True, timeout=60, manifest=None):
  """Downloads (or takes), extracts, verifies and fingerprints a checkpoint.

  Args:
    model: registry name or :class:`registry.ModelSpec`.
    checkpoint_dir: checkpoint root (default: the registry default).
    tarball: a local copy of the official tarball; skips the download.
    url: override of the download URL (default ``spec.url``).
    force: re-download even if a verified checkpoint is present.
    verify_weights: load the checkpoint into the model before recording.
    timeout: network timeout in seconds.
    manifest: parsed manifest (default: the package's ``manifest.json``);
      a non-null ``tarball_sha256`` there must match the archive.

  Returns:
    The checkpoint prefix.

  Raises:
    DownloadError: when offline (one sentence saying where to put the files
      by hand), on a hash mismatch, or when verification fails.
  """
  spec = _spec(model)
  directory = spec.checkpoint_dir(checkpoint_dir)
  if not force:
    try:
      check(spec, checkpoint_dir)
      return spec.find_checkpoint(checkpoint_dir)[0]
    except (DownloadError, registry.CheckpointNotFoundError):
      pass
  directory.mkdir(parents=True, exist_ok=True)
  manifest = load_manifest() if manifest is None else manifest
  pinned = manifest.get('models', {}).get(spec.name, {}).get('tarball_sha256')

  with tempfile.TemporaryDirectory(dir=directory) as tmp:
    if tarball is None:
      url = url or spec.url
      tarball = pathlib.Path(tmp) / spec.tarball
      try:
        _fetch(url, tarball, timeout)
      except DownloadError as e:
        raise DownloadError(
            f'Cannot download {url} ({e}): fetch it on a machine with '
            f'network access and extract it into {directory}/ so that '
            f'{directory / spec.checkpoint}(.index) exists, or pass the '
            f'file with `python experiments/checkpoints.py '
            f'--models={spec.name} --tarball=PATH`.') from None
    tar_digest = sha256(tarball)
    if pinned and pinned != tar_digest:
      raise DownloadError(f'{spec.name}: {tarball} has SHA-256 {tar_digest}, '
                          f'but the manifest pins {pinned}; the archive is '
                          'corrupt or not the official one')
    try:
      _safe_extract(tarball, directory)
    except tarfile.TarError as e:
      raise DownloadError(f'{spec.name}: {tarball} is not a valid tar archive '
                          f'({e})') from e
  (directory / SUMS_FILE).unlink(missing_ok=True)
  try:
    prefix, _ = spec.find_checkpoint(checkpoint_dir)
  except registry.CheckpointNotFoundError as e:
    raise DownloadError(f'{spec.name}: the archive did not contain '
                        f'{spec.checkpoint}; {e}') from None
  if verify_weights:
    try:
      verify(spec, checkpoint_dir)
    except checkpoint_lib.CheckpointError as e:
      raise DownloadError(f'{spec.name}: the extracted checkpoint does not '
                          f'fit the model: {e}') from e
  record(spec, checkpoint_dir, extra={spec.tarball: tar_digest})
  return prefix


def expand(names):
  """Registry names of ``names``, with 'all' and 'paper' expanded."""
  out = []
  for name in names:
    if name == 'all':
      out.extend(registry.names_list())
    elif name == 'paper':
      out.extend(registry.PAPER_MODELS)
    else:
      out.append(name)
  return list(dict.fromkeys(out))
