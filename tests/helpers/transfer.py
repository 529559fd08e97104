"""Small classifiers trained in the test session, for black-box checks.

All learn the same 4-class stripes task (orientation x colour; faint
stripes, 30 grey levels by default, so that 16-level perturbations can
transfer) from different initial weights, so an attack crafted on one can
be measured on another. Two pairs, each trained once per session (a few
seconds a model on a 2-core CPU): :func:`source_and_target` (two
``tiny_cnn`` of one width, other seeds) and :func:`wide_pair` (widths 8 and
12, other seeds and samples).
"""

import functools

import keras
import numpy as np

import fia_tf
from tests.helpers.models import tiny_cnn


def stripes(n, seed, amplitude=30.0):
  """``n`` stripe images (pixels 0..255, rounded) and labels in 0..3.

  ``amplitude`` is the stripes' contrast in grey levels.
  """
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


def _cnn(width, seed):
  keras.utils.set_random_seed(seed)
  inputs = keras.Input((32, 32, 3))
  x = keras.layers.Conv2D(width, 3, padding='same', activation='relu',
                          name='conv1')(inputs)
  x = keras.layers.Conv2D(2 * width, 3, strides=2, padding='same',
                          name='conv2')(x)
  x = keras.layers.Activation('relu', name='feat')(x)
  x = keras.layers.Conv2D(2 * width, 3, padding='same', activation='relu',
                          name='conv3')(x)
  x = keras.layers.GlobalAveragePooling2D(name='pool')(x)
  outputs = keras.layers.Dense(4, name='logits')(x)
  return keras.Model(inputs, outputs, name=f'stripes_{width}_{seed}')


@functools.lru_cache(maxsize=None)
def wide_pair():
  """``(source, target)``: a :class:`fia_tf.SourceModel` (layer ``feat``)
  and a Keras model trained from other seeds, widths and samples."""
  models = []
  for width, seed in ((8, 5), (12, 11)):
    model = _cnn(width, seed)
    x, y = stripes(2000, seed)
    model.compile(optimizer=keras.optimizers.Adam(3e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(
                      from_logits=True))
    model.fit(fia_tf.preprocessing.inception(x), y, epochs=4, batch_size=64,
              verbose=0)
    models.append(model)
  source = fia_tf.SourceModel(models[0], fia_tf.preprocessing.inception,
                              'feat', name='stripes_source')
  return source, models[1]


def error(model, images, labels):
  """Top-1 error of ``model`` on pixel images."""
  logits = model(fia_tf.preprocessing.inception(np.asarray(images)),
                 training=False)
  return float(np.mean(np.argmax(logits, -1) != labels))


def assert_raises_wide_pair_error(config, margin=0.3):
  """On :func:`wide_pair`, the attack of ``config`` raises the target's
  error ``margin`` above both its clean error and its error under random
  +-16 noise (so it is the attack that transfers, not any perturbation)."""
  source, target = wide_pair()
  x, y = stripes(64, 123)
  clean = error(target, x, y)
  assert error(source.model, x, y) <= 0.1, 'the source did not train'
  noise = np.clip(x + 16 * np.sign(np.random.RandomState(0).randn(*x.shape)),
                  0, 255)
  noisy = error(target, noise, y)
  adv = fia_tf.Attack(source, config)(x, y, np.arange(64)).numpy()
  attacked = error(target, adv, y)
  assert attacked >= max(clean, noisy) + margin, (clean, noisy, attacked)
