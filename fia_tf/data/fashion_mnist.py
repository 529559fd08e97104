"""Fashion-MNIST: the IDX loader, its fallbacks and the committed subset.

The full data set is looked for in order: a path the caller gives, the Debian
package's directory (``apt-get install dataset-fashion-mnist``), then
``keras.datasets.fashion_mnist`` (which downloads). Every outcome is said in
plain words: which source was used, or why each one failed.

The demo needs none of this: a fixed 1000-image subset of the test split is
committed with the repository (``data/fashion_mnist/test_subset_1000.npz``;
:func:`load_subset` reads it from the path it is given).
"""

import gzip
import pathlib

import numpy as np

DEBIAN_DIR = pathlib.Path('/usr/share/datasets/fashion-mnist')
SUBSET_FILE = 'test_subset_1000.npz'
CLASS_NAMES = ('T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat',
               'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot')
SPLIT_FILES = {
    'train': ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte'),
    'test': ('t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'),
}
SUBSET_SIZE = 1000
SUBSET_SEED = 20210729  # FIA's arXiv date; any fixed value would do

# IDX type codes (http://yann.lecun.com/exdb/mnist/): only unsigned bytes
# occur in (Fashion-)MNIST.
_IDX_UBYTE = 0x08


class DataNotFoundError(FileNotFoundError):
  """No source had the data; the message lists what was tried and why."""


def read_idx(path):
  """Reads one IDX file (optionally gzipped) into a NumPy array.

  Args:
    path: file path; ``.gz`` files are decompressed.

  Returns:
    uint8 array with the file's shape (``[N, 28, 28]`` or ``[N]``).

  Raises:
    ValueError: for a file that is not an unsigned-byte IDX file or whose
      size disagrees with its header.
  """
  path = pathlib.Path(path)
  opener = gzip.open if path.suffix == '.gz' else open
  with opener(path, 'rb') as f:
    raw = f.read()
  if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
    raise ValueError(f'{path}: not an IDX file (bad magic number)')
  if raw[2] != _IDX_UBYTE:
    raise ValueError(f'{path}: IDX type 0x{raw[2]:02x} is not unsigned byte')
  ndim = raw[3]
  header = 4 + 4 * ndim
  shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], 'big')
                for i in range(ndim))
  expected = header + int(np.prod(shape))
  if len(raw) != expected:
    raise ValueError(f'{path}: {len(raw)} bytes, the header {shape} needs '
                     f'{expected}')
  return np.frombuffer(raw, np.uint8, offset=header).reshape(shape)


def write_idx(path, array):
  """Writes a uint8 array as an IDX file (gzipped if the name ends .gz)."""
  array = np.asarray(array)
  if array.dtype != np.uint8:
    raise ValueError(f'IDX writer needs uint8, got {array.dtype}')
  header = bytes([0, 0, _IDX_UBYTE, array.ndim]) + b''.join(
      int(d).to_bytes(4, 'big') for d in array.shape)
  path = pathlib.Path(path)
  opener = gzip.open if path.suffix == '.gz' else open
  with opener(path, 'wb') as f:
    f.write(header + array.tobytes())


def _find(directory, stem):
  for name in (stem, stem + '.gz'):
    candidate = pathlib.Path(directory) / name
    if candidate.is_file():
      return candidate
  return None


def load_idx_dir(directory, split):
  """Loads one split from a directory of (gzipped) IDX files.

  Returns:
    ``(images uint8 [N, 28, 28, 1], labels int32 [N])``.

  Raises:
    DataNotFoundError: when a file is missing (the message names it).
    ValueError: for a corrupt file or mismatched image and label counts.
  """
  image_stem, label_stem = SPLIT_FILES[split]
  found = [_find(directory, image_stem), _find(directory, label_stem)]
  missing = [s for s, f in zip((image_stem, label_stem), found) if f is None]
  if missing:
    raise DataNotFoundError(
        f'{directory}: no {" or ".join(m + "[.gz]" for m in missing)}')
  images, labels = read_idx(found[0]), read_idx(found[1])
  if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
    raise ValueError(f'{directory}: images {images.shape} and labels '
                     f'{labels.shape} do not match')
  return images[..., None], labels.astype(np.int32)


def _keras_download(split):
  import keras  # pylint: disable=g-import-not-at-top
  (x_train, y_train), (x_test, y_test) = (
      keras.datasets.fashion_mnist.load_data())
  if split == 'train':
    return x_train[..., None], y_train.astype(np.int32)
  return x_test[..., None], y_test.astype(np.int32)


def load(split, path=None, allow_download=True, log=print):
  """Loads a Fashion-MNIST split, saying where it came from.

  Args:
    split: ``'train'`` (60000 images) or ``'test'`` (10000).
    path: optional directory of IDX files tried first.
    allow_download: try ``keras.datasets.fashion_mnist`` last.
    log: called with one line naming the source used (``None``: silent).

  Returns:
    ``(images uint8 [N, 28, 28, 1], labels int32 [N], source description)``.

  Raises:
    DataNotFoundError: when every source failed; the message says what was
      tried, why each failed, and how to get the data.
  """
  if split not in SPLIT_FILES:
    raise ValueError(f"split must be 'train' or 'test', got {split!r}")
  failures = []
  directories = ([pathlib.Path(path)] if path else []) + [DEBIAN_DIR]
  for directory in directories:
    if not directory.is_dir():
      failures.append(f'{directory}: no such directory')
      continue
    try:
      images, labels = load_idx_dir(directory, split)
    except (DataNotFoundError, ValueError, OSError) as e:
      failures.append(str(e))
      continue
    source = f'IDX files in {directory}'
    break
  else:
    if allow_download:
      try:
        images, labels = _keras_download(split)
        source = 'keras.datasets.fashion_mnist (downloaded or cached)'
      except Exception as e:  # pylint: disable=broad-except
        # Any network or cache error: it is reported with the others.
        failures.append(f'keras.datasets.fashion_mnist: {type(e).__name__}: '
                        f'{e}')
        images = None
    else:
      failures.append('keras.datasets.fashion_mnist: download not allowed')
      images = None
    if images is None:
      raise DataNotFoundError(
          f'Fashion-MNIST {split} split not found. Tried:\n  - ' +
          '\n  - '.join(failures) +
          '\nInstall it with `apt-get install dataset-fashion-mnist` (Debian), '
          'pass a directory of the IDX files, or allow the Keras download. '
          'The demo itself needs none of this: it uses the committed subset '
          f'data/fashion_mnist/{SUBSET_FILE}.')
  if log is not None:
    log(f'Fashion-MNIST {split}: {len(images)} images from {source}')
  return images, labels, source


def make_subset(test_labels, size=SUBSET_SIZE, seed=SUBSET_SEED):
  """Class-balanced, seeded choice of ``size`` test indices, sorted.

  Balanced so that every class has ``size / 10`` images and per-class rates
  are comparable.
  """
  classes = np.unique(test_labels)
  per_class = size // len(classes)
  rs = np.random.RandomState(seed)
  chosen = []
  for c in classes:
    members = np.flatnonzero(test_labels == c)
    chosen.append(rs.choice(members, per_class, replace=False))
  return np.sort(np.concatenate(chosen))


def save_subset(images, labels, indices, path):
  """Writes the subset as a compressed .npz (uint8 images, labels, indices)."""
  pathlib.Path(path).parent.mkdir(parents=True, exist_ok=True)
  np.savez_compressed(path, images=images[indices].astype(np.uint8),
                      labels=labels[indices].astype(np.int32),
                      indices=np.asarray(indices, np.int64))


def load_subset(path, limit=None):
  """The committed test subset.

  Args:
    path: the .npz file.
    limit: keep only the first ``limit`` images.

  Returns:
    ``(images float32 [N, 28, 28, 1] pixels 0..255, labels int32 [N],
    indices int64 [N])``; ``indices`` are positions in the test split, used
    as the attack's per-image ids.

  Raises:
    DataNotFoundError: when the file is missing (says how to recreate it).
  """
  path = pathlib.Path(path)
  if not path.is_file():
    raise DataNotFoundError(
        f'{path}: the committed Fashion-MNIST subset is missing. Restore it '
        'from git, or recreate it with `python experiments/train_mini.py '
        '--make_subset` (needs the full test split).')
  with np.load(path) as f:
    images, labels, indices = f['images'], f['labels'], f['indices']
  if limit is not None:
    images, labels, indices = images[:limit], labels[:limit], indices[:limit]
  return (images.astype(np.float32), labels.astype(np.int32),
          indices.astype(np.int64))
