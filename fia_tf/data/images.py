"""Image directories with ImageNet labels: listing, checking, loading, resizing.

Input is a directory of images plus labels in one of two formats:

* ``labels.txt`` (the original FIA format): line ``k`` is the 1001-class
  label of ``k.png``. Every image must be named ``<k>.<ext>`` with ``k`` an
  integer line number.
* ``dev_dataset.csv`` (the NIPS'17 competition format): columns ``ImageId``
  and ``TrueLabel``. Images are matched by name (``<ImageId>.png``) or, when
  they are numbered ``1..N`` as in the FIA distribution, ``k.png`` is the
  ``k``-th row in ``ImageId`` order (which is how the FIA authors numbered
  them).

Image ids (the keys of the attack's per-image randomness) are the integer
file stem ``k`` with ``labels.txt``, and the 1-based row index in ``ImageId``
order with ``dev_dataset.csv``; both give ``k`` for ``k.png`` of the FIA
distribution, so a run is reproducible whichever label file is used.

Labels that do not fit the images (an image without a label, a name the CSV
does not know, a malformed line) raise :class:`DataError` before any work.
An unreadable image is not an error of the set: :func:`load_batch` reports
it by name and leaves it out, so that one bad file does not stop a run. That
includes dangling symbolic links and link loops, and images over the pixel
limit (:data:`DEFAULT_MAX_PIXELS`, 40 megapixels, the ``max_pixels``
argument), which are refused on their header, before decoding.

Label files are UTF-8, with or without a byte-order mark; anything else is a
:class:`DataError` naming the file and line. File stems and CSV ImageIds are
compared in Unicode NFC, so a name written decomposed (NFD, as macOS does)
matches its label.

Resizing between sizes (299 <-> 224) uses one filter everywhere: bilinear
with antialiasing (``tf.image.resize(..., 'bilinear', antialias=True)``),
which averages over the footprint of the output pixel when shrinking
instead of sampling (nearest/plain bilinear alias at 299 -> 224).
"""

import collections
import contextlib
import csv
import dataclasses
import errno
import io
import os
import pathlib
import re
import threading
import unicodedata
from typing import List, Optional, Tuple

import numpy as np
import PIL.Image
import tensorflow as tf

__all__ = ['Batch', 'DataError', 'DEFAULT_MAX_PIXELS', 'Entry',
           'IMAGE_EXTENSIONS', 'ImageReadError', 'ImageSet', 'file_problem', 'LABEL_FILES', 'NUM_LABELS', 'RESIZE_ANTIALIAS',
           'RESIZE_METHOD', 'batches', 'find_labels', 'image_set',
           'list_images', 'load_batch', 'read_dev_csv', 'read_image',
           'read_labels_txt', 'resize', 'subset']

IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp')
LABEL_FILES = ('labels.txt', 'dev_dataset.csv')
NUM_LABELS = 1001  # 1001-class ImageNet labels, 0 = background
RESIZE_METHOD = 'bilinear'
RESIZE_ANTIALIAS = True
_PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
# Largest width x height read per image (40 megapixels: 120 MB as uint8 RGB,
# 480 MB as the float32 the resize makes); larger files are skipped by name.
DEFAULT_MAX_PIXELS = 40_000_000
_PIL_LOCK = threading.Lock()


class DataError(ValueError):
  """Labels or an input directory that cannot be used; says which and why."""


class ImageReadError(ValueError):
  """One image file that cannot be read; the message names the file."""


@dataclasses.dataclass(frozen=True)
class Entry:
  """One labelled image of a set.

  Attributes:
    name: file name inside the directory (``44.png``).
    image_id: integer id keying the attack's randomness for this image.
    label: 1001-class ImageNet label.
  """
  name: str
  image_id: int
  label: int

  @property
  def stem(self):
    return pathlib.PurePath(self.name).stem

  @property
  def output_name(self):
    """The file name an output PNG of this image gets."""
    return self.stem + '.png'


@dataclasses.dataclass
class ImageSet:
  """A checked, labelled image directory.

  Attributes:
    directory: the image directory.
    entries: the images in id order.
    labels_path: the label file used.
    id_rule: how ``image_id`` was derived (for run records).
    unused_labels: number of labels with no image (a subset run).
  """
  directory: pathlib.Path
  entries: List[Entry]
  labels_path: pathlib.Path
  id_rule: str
  unused_labels: int = 0

  def __len__(self):
    return len(self.entries)

  def by_output_name(self):
    return {e.output_name: e for e in self.entries}


def find_labels(input_dir):
  """The label file for ``input_dir``: ``labels.txt`` or ``dev_dataset.csv``
  in the directory itself, else in its parent (the original layout was
  ``dataset/images/`` next to ``labels.txt``). ``None`` when there is none."""
  input_dir = pathlib.Path(input_dir)
  for directory in (input_dir, input_dir.parent):
    for name in LABEL_FILES:
      if (directory / name).is_file():
        return directory / name
  return None


def _nfc(text):
  """``text`` in Unicode normalisation form C.

  File systems keep names as written (macOS writes decomposed NFD, most
  tools composed NFC); names and ids are matched in NFC so that ``café``
  matches ``café`` whichever way it was typed.
  """
  return unicodedata.normalize('NFC', text)


def _code_points(text):
  """`` (U+0063 U+0061 ...)`` of a non-ASCII ``text``, else ``''``.

  Two strings that differ only in normalisation print identically; the
  code points tell them apart in a message.
  """
  if text.isascii():
    return ''
  return ' (' + ' '.join(f'U+{ord(c):04X}' for c in text) + ')'


def list_images(directory):
  """Image file names in ``directory`` (by extension, hidden files skipped).

  Dangling symbolic links and symbolic link loops with an image extension
  are listed too, so that reading them reports them by name (see
  :func:`file_problem`) instead of leaving them out silently.

  Raises:
    DataError: when the directory does not exist or holds no images, or two
      files share a stem (their outputs would collide), also when the stems
      differ only in Unicode normalisation.
  """
  directory = pathlib.Path(directory)
  if not directory.is_dir():
    raise DataError(f'image directory {str(directory)!r} '
                    f'{_not_a("directory", directory)}')
  names = sorted(p.name for p in directory.iterdir()
                 if p.suffix.lower() in IMAGE_EXTENSIONS and
                 not p.name.startswith('.') and
                 (p.is_file() or (p.is_symlink() and not p.exists())))
  if not names:
    raise DataError(f'no images ({", ".join(IMAGE_EXTENSIONS)}) in '
                    f'{str(directory)!r}')
  stems = collections.defaultdict(list)
  for name in names:
    stems[_nfc(pathlib.PurePath(name).stem)].append(name)
  clash = sorted(s for s, group in stems.items() if len(group) > 1)
  if clash:
    group = ', '.join(n + _code_points(n) for n in stems[clash[0]])
    raise DataError(f'{str(directory)!r} holds several images named '
                    f'{clash[0]!r}: {group} (different extensions or '
                    'Unicode normalisations); keep one')
  return names


def _read_text(path):
  """The text of a label file: UTF-8, with or without a byte-order mark.

  Raises:
    DataError: naming the file, line and byte of anything that is not UTF-8.
  """
  raw = pathlib.Path(path).read_bytes()
  try:
    return raw.decode('utf-8-sig')
  except UnicodeDecodeError as e:
    line = raw.count(b'\n', 0, e.start) + 1
    column = e.start - (raw.rfind(b'\n', 0, e.start) + 1) + 1
    raise DataError(f'{path} line {line}: byte 0x{raw[e.start]:02x} at column '
                    f'{column} is not UTF-8 ({e.reason}); save the file as '
                    'UTF-8') from None


def read_labels_txt(path):
  """Labels of a ``labels.txt``: ``labels[k - 1]`` is the label of ``k.png``.

  Raises:
    DataError: naming the line of a value that is not a label.
  """
  lines = _read_text(path).splitlines()
  while lines and not lines[-1].strip():
    lines.pop()
  if not lines:
    raise DataError(f'{path} holds no labels')
  labels = []
  for number, line in enumerate(lines, start=1):
    labels.append(_parse_label(line.strip(), f'{path} line {number}'))
  return labels


def read_dev_csv(path):
  """``[(ImageId, TrueLabel)]`` of a ``dev_dataset.csv``, in ImageId order.

  Raises:
    DataError: for missing columns, duplicate ids or bad labels.
  """
  with io.StringIO(_read_text(path), newline='') as f:
    reader = csv.DictReader(f)
    missing = {'ImageId', 'TrueLabel'} - set(reader.fieldnames or ())
    if missing:
      raise DataError(f'{path} needs the columns ImageId and TrueLabel; '
                      f'missing {sorted(missing)}')
    rows = []
    for number, row in enumerate(reader, start=2):
      rows.append((_nfc(row['ImageId'].strip()),
                   _parse_label(row['TrueLabel'].strip(),
                                f'{path} line {number}')))
  if not rows:
    raise DataError(f'{path} holds no rows')
  ids = collections.Counter(r[0] for r in rows)
  dup = [i for i, c in ids.items() if c > 1]
  if dup:
    raise DataError(f'{path}: ImageId {dup[0]!r}{_code_points(dup[0])} appears {ids[dup[0]]} '
                    'times (ImageIds are compared in Unicode NFC)')
  return sorted(rows)


def _parse_label(text, where):
  if not re.fullmatch(r'[+-]?\d+', text):
    raise DataError(f'{where}: {text!r} is not an integer class label')
  label = int(text)
  if not 0 <= label < NUM_LABELS:
    raise DataError(f'{where}: label {label} is outside 0..{NUM_LABELS - 1} '
                    '(labels are 1001-class, 0 = background)')
  return label


def _int_stem(name):
  stem = pathlib.PurePath(name).stem
  return int(stem) if re.fullmatch(r'\d+', stem) else None


def image_set(input_dir, labels_path=None):
  """Lists ``input_dir`` and matches every image to its label.

  Args:
    input_dir: directory of images.
    labels_path: ``labels.txt`` or ``dev_dataset.csv`` (by suffix); default
      :func:`find_labels`.

  Returns:
    An :class:`ImageSet`. Labels without an image are allowed (a subset of
    the dataset) and counted in ``unused_labels``.

  Raises:
    DataError: when there is no label file, or an image has no label (its
      name is not a line number / ImageId), naming the first few such files.
  """
  input_dir = pathlib.Path(input_dir)
  names = list_images(input_dir)
  if labels_path is None:
    labels_path = find_labels(input_dir)
    if labels_path is None:
      raise DataError(
          f'no labels for {str(input_dir)!r}: put labels.txt or '
          'dev_dataset.csv in it or its parent directory, or pass --labels')
  labels_path = pathlib.Path(labels_path)
  if not labels_path.is_file():
    raise DataError(f'label file {str(labels_path)!r} '
                    f'{_not_a("file", labels_path)}')
  if labels_path.suffix.lower() == '.csv':
    entries, rule, total = _match_csv(names, labels_path)
  else:
    entries, rule, total = _match_txt(names, labels_path)
  entries.sort(key=lambda e: (e.image_id, e.name))
  return ImageSet(directory=input_dir, entries=entries,
                  labels_path=labels_path, id_rule=rule,
                  unused_labels=total - len(entries))


def _unmatched(names, labels_path, why):
  listed = (', '.join(n + _code_points(n) for n in names[:5]) +
            (' ...' if len(names) > 5 else ''))
  return DataError(f'{len(names)} image(s) have no label in '
                   f'{labels_path}: {listed} ({why}); the labels do not '
                   'match the images')


def _match_txt(names, labels_path):
  labels = read_labels_txt(labels_path)
  entries, bad = [], []
  for name in names:
    k = _int_stem(name)
    if k is None or not 1 <= k <= len(labels):
      bad.append(name)
    else:
      entries.append(Entry(name, k, labels[k - 1]))
  if bad:
    raise _unmatched(bad, labels_path,
                     f'labels.txt labels k.png with line k, and it has '
                     f'{len(labels)} lines')
  return entries, 'image_id = k of k.png (line k of labels.txt)', len(labels)


def _match_csv(names, labels_path):
  rows = read_dev_csv(labels_path)
  rank = {image_id: (i, label) for i, (image_id, label)
          in enumerate(rows, start=1)}
  stems = [_nfc(pathlib.PurePath(n).stem) for n in names]
  if any(s in rank for s in stems):
    bad = [n for n, s in zip(names, stems) if s not in rank]
    if bad:
      raise _unmatched(bad, labels_path, 'no such ImageId')
    entries = [Entry(n, *rank[s]) for n, s in zip(names, stems)]
    rule = ('image_id = 1-based row of the ImageId in ImageId order of '
            'dev_dataset.csv')
  else:
    entries, bad = [], []
    for name in names:
      k = _int_stem(name)
      if k is None or not 1 <= k <= len(rows):
        bad.append(name)
      else:
        entries.append(Entry(name, k, rows[k - 1][1]))
    if bad:
      raise _unmatched(bad, labels_path,
                       f'names are neither ImageIds nor row numbers '
                       f'1..{len(rows)}')
    rule = ('image_id = k of k.png = row k of dev_dataset.csv in ImageId '
            'order')
  return entries, rule, len(rows)


# ---- reading ----------------------------------------------------------------


def _png_bit_depth(head):
  if head[:8] == _PNG_SIGNATURE and head[12:16] == b'IHDR':
    return head[24]
  return None


@contextlib.contextmanager
def _own_pixel_limit():
  """Pillow's decompression-bomb check switched off while a file is read.

  The pixel limit is ours (``max_pixels``, checked on the header), so that
  it is documented, configurable and reported by file name; Pillow's
  global check would otherwise warn at 89 megapixels and raise at twice
  that with a message naming no file. Pillow checks again when it seeks
  frames, so the switch holds for the whole read; the lock keeps
  concurrent readers from restoring the global value under each other.
  """
  with _PIL_LOCK:
    saved = PIL.Image.MAX_IMAGE_PIXELS
    PIL.Image.MAX_IMAGE_PIXELS = None
    try:
      yield
    finally:
      PIL.Image.MAX_IMAGE_PIXELS = saved


def file_problem(path):
  """Why ``path`` is not a regular file that can be opened, or ``None``.

  Tells a dangling symbolic link and a symbolic link loop apart from a
  missing file, so that the skipped-files report says what to fix.
  """
  path = pathlib.Path(path)
  try:
    os.stat(path)
  except OSError as e:
    if os.path.islink(path):
      if e.errno == errno.ELOOP:
        return 'symbolic link loop'
      try:
        target = os.readlink(path)
      except OSError:
        target = '?'
      return f'dangling symbolic link (its target {target!r} does not exist)'
    if isinstance(e, FileNotFoundError):
      return 'missing'
    return f'cannot be opened ({type(e).__name__}: {e.strerror or e})'
  if not path.is_file():
    return 'not a regular file'
  return None


def _limit_problem(width, height, max_pixels):
  if max_pixels and width * height > max_pixels:
    return (f'{width}x{height} = {width * height} pixels is more than the '
            f'limit of {max_pixels} pixels per image; raise max_pixels '
            '(--max_pixels; 0 = no limit) to read it')
  return None


def _decode_error(path, error):
  reason = str(error).strip().splitlines()[0] if str(error).strip() else ''
  if (isinstance(error, PIL.UnidentifiedImageError) or
      'Could not find a backend' in reason):
    return ImageReadError(f'{path.name}: cannot read image (not an image in '
                          'a known format)')
  return ImageReadError(f'{path.name}: cannot read image '
                        f'({type(error).__name__}: {reason})')


def _scale_16bit(pixels):
  # 65535 -> 255 exactly: v * 255 / 65535 = v / 257, rounded to nearest.
  return np.rint(pixels.astype(np.float64) / 257.0).astype(np.uint8)


def _to_rgb(image, path, notes):
  """``uint8 [H, W, 3]`` of an opened Pillow image, by its mode."""
  mode = image.mode
  if mode == 'RGB':
    return np.asarray(image)
  if mode == '1':
    notes.append('1-bit image scaled to 0/255')
    return np.asarray(image.convert('L').convert('RGB'))
  if mode == 'L':
    notes.append('grayscale converted to RGB')
    return np.asarray(image.convert('RGB'))
  if mode in ('LA', 'La'):
    notes.append('alpha channel dropped')
    notes.append('grayscale converted to RGB')
    grey = np.asarray(image.convert('LA'))[..., 0]
    return np.stack([grey] * 3, axis=-1)
  if mode in ('P', 'PA'):
    notes.append('palette image converted to RGB')
    has_alpha = mode == 'PA' or 'transparency' in image.info
    rgba = np.asarray(image.convert('RGBA' if has_alpha else 'RGB'))
    if has_alpha:
      notes.append('alpha channel dropped')
    return rgba[..., :3]
  if mode in ('RGBA', 'RGBa', 'RGBX'):
    if mode != 'RGBX':
      notes.append('alpha channel dropped')
    # Premultiplied RGBa is un-premultiplied by the RGBA conversion.
    return np.asarray(image.convert('RGBA'))[..., :3]
  if mode.startswith('I;16'):
    # I;16, I;16L, I;16B, I;16N: numpy reads each in its own byte order.
    grey = _scale_16bit(np.asarray(image))
    notes.append('grayscale converted to RGB')
    notes.append('16-bit pixels scaled to 8 bits')
    return np.stack([grey] * 3, axis=-1)
  if mode in ('I', 'F', 'I;32', 'I;32B', 'F;32'):
    kind = 'floating-point' if mode.startswith('F') else '32-bit integer'
    raise ImageReadError(
        f'{path.name}: {kind} pixels (Pillow mode {mode!r}) have no defined '
        '0..255 scale; convert the file to 8- or 16-bit RGB or grayscale')
  # CMYK, YCbCr, HSV, ...: Pillow's own conversion (CMYK without a colour
  # profile, i.e. R = (255 - C) * (255 - K) / 255, and so on).
  try:
    rgb = np.asarray(image.convert('RGB'))
  except (ValueError, OSError) as e:
    raise ImageReadError(
        f'{path.name}: cannot convert Pillow mode {mode!r} to RGB ({e}); '
        'convert the file to RGB') from None
  notes.append(f'{mode} converted to RGB')
  return rgb


def read_image(path, max_pixels=DEFAULT_MAX_PIXELS):
  """Reads an image as ``uint8 [H, W, 3]`` RGB, converting other formats.

  Every Pillow mode becomes RGB 0..255 or the file is refused: grayscale
  (``1``, ``L``) is replicated, alpha is dropped (``LA``, ``PA``, ``RGBA``,
  palettes with transparency), palettes are looked up, CMYK and YCbCr go
  through Pillow's conversion, 16-bit pixels (16-bit PNGs of every colour
  type, ``I;16``/``I;16B`` files) are scaled with ``rint(v / 257)``;
  32-bit integer (``I``) and floating-point (``F``) pixels have no defined
  range and are refused. Only the first frame of a multi-frame file is
  kept.

  Args:
    path: the image file.
    max_pixels: the largest width x height read (0 or ``None``: no limit).
      Checked on the file's header, before any pixel is decoded.

  Returns:
    ``(pixels, notes)``: the array and a list of conversions applied (empty
    for a plain 8-bit RGB image).

  Raises:
    ImageReadError: when the file cannot be decoded or is over the pixel
      limit; the message names the file and the reason.
  """
  path = pathlib.Path(path)
  notes = []
  try:
    with open(path, 'rb') as f:
      head = f.read(32)
    with _own_pixel_limit(), PIL.Image.open(path) as image:
      width, height = image.size
      problem = _limit_problem(width, height, max_pixels)
      if problem:
        raise ImageReadError(f'{path.name}: {problem}')
      if getattr(image, 'n_frames', 1) > 1:
        notes.append('first frame of a multi-frame file')
      if image.format == 'PNG' and _png_bit_depth(head) == 16:
        # Pillow keeps only the high byte of 16-bit colour PNGs; TF's PNG
        # decoder returns all 16 bits of every colour type.
        pixels = tf.io.decode_png(path.read_bytes(), channels=0,
                                  dtype=tf.uint16).numpy()
        pixels = _scale_16bit(pixels)
        if pixels.shape[-1] in (2, 4):
          pixels = pixels[..., :-1]
          notes.append('alpha channel dropped')
        if pixels.shape[-1] == 1:
          pixels = np.concatenate([pixels] * 3, axis=-1)
          notes.append('grayscale converted to RGB')
        notes.append('16-bit pixels scaled to 8 bits')
      else:
        image.seek(0)
        image.load()
        pixels = _to_rgb(image, path, notes)
  except ImageReadError:
    raise
  except Exception as e:  # pylint: disable=broad-except
    # Decoders raise many types (OSError, ValueError, SyntaxError, ...).
    raise _decode_error(path, e) from None
  if pixels.ndim != 3 or pixels.shape[-1] != 3 or min(pixels.shape[:2]) < 1:
    raise ImageReadError(f'{path.name}: unsupported image layout '
                         f'{pixels.shape}')
  return np.ascontiguousarray(pixels, dtype=np.uint8), notes


def resize(pixels, size):
  """Resizes ``[H, W, 3]`` or ``[B, H, W, 3]`` pixels to ``size x size``.

  Uses the module's one filter (bilinear, antialiased). Returns float32;
  an image already at ``size`` is returned unchanged (as float32).
  """
  pixels = np.asarray(pixels)
  spatial = pixels.shape[-3:-1]
  if tuple(spatial) == (size, size):
    return pixels.astype(np.float32)
  out = tf.image.resize(tf.convert_to_tensor(pixels, tf.float32),
                        [size, size], method=RESIZE_METHOD,
                        antialias=RESIZE_ANTIALIAS)
  return np.clip(out.numpy(), 0.0, 255.0).astype(np.float32)


@dataclasses.dataclass
class Batch:
  """Images of a batch that could be read.

  Attributes:
    entries: the entries that were read, in order.
    images: float32 ``[B, size, size, 3]`` pixels.
    skipped: ``[(name, reason)]`` of unreadable files.
    notes: ``[(name, note)]`` of conversions (format, size).
  """
  entries: List[Entry]
  images: np.ndarray
  skipped: List[Tuple[str, str]]
  notes: List[Tuple[str, str]]


def load_batch(directory, entries, size, round_pixels=False, names=None,
               max_pixels=DEFAULT_MAX_PIXELS):
  """Reads ``entries`` from ``directory`` and resizes them to ``size``.

  Args:
    directory: where the files are.
    entries: :class:`Entry` list.
    size: output height = width.
    round_pixels: round resized images to integers, i.e. make them exactly
      what saving them as 8-bit files would give.
    names: optional file name per entry (default ``entry.name``), e.g. the
      ``.png`` output names in an adversarial directory.
    max_pixels: largest width x height read (:func:`read_image`).

  Returns:
    A :class:`Batch`; unreadable, missing or too large files (and dangling
    symbolic links, link loops) are in ``skipped`` with the reason.
  """
  directory = pathlib.Path(directory)
  names = names or [e.name for e in entries]
  kept, images, skipped, notes = [], [], [], []
  for entry, name in zip(entries, names):
    path = directory / name
    problem = file_problem(path)
    if problem:
      skipped.append((name, problem))
      continue
    try:
      pixels, image_notes = read_image(path, max_pixels)
    except ImageReadError as e:
      skipped.append((name, str(e).partition(': ')[2]))
      continue
    height, width = pixels.shape[:2]
    if height != width:
      image_notes.append(f'{width}x{height} image resized to {size}x{size} '
                         '(aspect ratio changed)')
    notes.extend((name, n) for n in image_notes)
    out = resize(pixels, size)
    images.append(np.rint(out) if round_pixels else out)
    kept.append(entry)
  array = (np.stack(images).astype(np.float32) if images else
           np.zeros((0, size, size, 3), np.float32))
  return Batch(kept, array, skipped, notes)


def batches(entries, batch_size):
  """Fixed consecutive slices of ``entries`` of ``batch_size`` (last shorter).

  The split depends only on the list and the batch size, so a resumed run
  recomputes a batch with exactly the same images as the first run did.
  """
  if batch_size < 1:
    raise ValueError(f'batch_size must be >= 1, got {batch_size!r}')
  return [entries[i:i + batch_size]
          for i in range(0, len(entries), batch_size)]


def _not_a(kind, path):
  """Why ``path`` is no ``kind`` ('file' or 'directory'), for messages."""
  if path.is_dir():
    return 'is a directory, not a file'
  if path.exists():
    return f'is a file, not a {kind}' if kind == 'directory' else (
        'is not a regular file')
  if path.is_symlink():
    return 'is a dangling symlink'
  return 'does not exist'


def subset(image_set_, max_images: Optional[int]):
  """The first ``max_images`` entries (all for ``None`` or 0).

  Raises:
    ValueError: for a negative ``max_images`` (a slice would silently drop
      images from the end).
  """
  if max_images is not None and (isinstance(max_images, bool) or
                                 max_images < 0):
    raise ValueError(f'max_images must be >= 0 (0: all images), got '
                     f'{max_images!r}')
  if max_images:
    image_set_ = dataclasses.replace(image_set_,
                                     entries=image_set_.entries[:max_images])
  return image_set_
