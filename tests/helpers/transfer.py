"""Two small classifiers trained in the test session, for black-box checks.

Both learn the same 4-class stripes task (orientation x colour, as in
``tests/attacks/test_trained_and_layer.py``, at a lower contrast so that
16-level perturbations can transfer) from different initial weights, so an
attack crafted on one can be measured on the other. Trained once per
session (about 8 s each on a shared 2-core CPU).
"""

import functools

import keras
import numpy as np

import fia_tf
from tests.helpers.models import tiny_cnn


def stripes(n, seed, amplitude=30.0):
  """``n`` stripe images (pixels 0..255, rounded) and labels in 0..3."""
  rs = np.random.RandomState(seed)
  labels = rs.randint(0, 4, n)
  yy, xx = np.mgrid[0:32, 0:32]
  images = np.empty((n, 32, 32, 3), np.float32)
  for i, label in enumerate(labels):
    phase = rs.uniform(0, 2 * np.pi)
    wave = np.sin((xx if label % 2 else yy) * 0.8 + phase)
    colour = np.array([1.0, 0.3, 0.3]) if label < 2 else np.array(
        [0.3, 0.3, 1.0])
    img = 128 + amplitude * wave[..., None] * colour + rs.normal(0, 10, (32, 32, 3))
    images[i] = np.clip(img, 0, 255)
  return images.round(), labels.astype(np.int32)


def _fit(model):
  x, y = stripes(2000, 0)
  model.compile(optimizer=keras.optimizers.Adam(3e-3),
                loss=keras.losses.SparseCategoricalCrossentropy(
                    from_logits=True))
  model.fit(fia_tf.preprocessing.inception(x), y, epochs=4, batch_size=64,
            verbose=0)
  return model


@functools.lru_cache(maxsize=None)
def source_and_target():
  """``(source SourceModel with feature layer 'feat', target Keras model)``."""
  source = _fit(tiny_cnn(classes=4, seed=5))
  target = _fit(tiny_cnn(classes=4, seed=9))
  return (fia_tf.SourceModel(source, fia_tf.preprocessing.inception, 'feat',
                             name='stripes_source'), target)


def error(model, images, labels):
  """Top-1 error of ``model`` on pixel images."""
  logits = model(fia_tf.preprocessing.inception(images), training=False)
  return float(np.mean(np.argmax(logits, -1) != labels))
