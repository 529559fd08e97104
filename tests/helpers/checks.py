"""Independent re-computations to check binaries' outputs against."""

import pathlib

import numpy as np
import tensorflow as tf

from fia_tf.zoo import tiny
from tests.helpers.paths import LABELS


def labels_of(names):
  lines = LABELS.read_text().split()
  return {n: int(lines[int(pathlib.PurePath(n).stem) - 1]) for n in names}


def read_png(path):
  import imageio.v3 as iio  # pylint: disable=import-outside-toplevel
  return np.asarray(iio.imread(path))


def resize(pixels, size):
  """The documented filter, written out here: bilinear, antialiased."""
  pixels = np.asarray(pixels, np.float32)
  if pixels.shape[-2] == size and pixels.shape[-3] == size:
    return pixels
  return np.clip(tf.image.resize(pixels, [size, size], 'bilinear',
                                 antialias=True).numpy(), 0, 255)


_MODELS = {}


def predict(name, checkpoint_dir, images):
  """1001-class predictions of tiny-zoo model ``name`` (built here)."""
  spec = tiny.tiny_spec(name)
  key = (name, str(checkpoint_dir))
  if key not in _MODELS:
    model = spec.build()
    spec.load_weights(model, checkpoint_dir)
    _MODELS[key] = model
  images = resize(np.stack(images), spec.input_size)
  logits = _MODELS[key](spec.preprocess(tf.constant(images)), training=False)
  return np.argmax(logits.numpy(), axis=-1) - spec.label_offset
