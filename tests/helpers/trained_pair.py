"""A source and a black-box target trained in the test, for transfer checks.

Both are small CNNs learning the same 4-class stripes task (orientation x
colour) from different seeds and widths, so an attack crafted on one can be
measured on the other. Trained once per process (a few seconds each).
"""

import functools

import keras
import numpy as np

import fia_tf


def stripes(n, seed, amplitude=30.0):
  """``n`` 32x32 images of 4 classes: stripe orientation x colour, noisy.

  Faint stripes (``amplitude`` grey levels) keep the margins small enough
  for an eps = 16 attack to transfer between two such models.
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
    img = (128 + amplitude * wave[..., None] * colour +
           rs.normal(0, 10, (32, 32, 3)))
    images[i] = np.clip(img, 0, 255)
  return images.round(), labels.astype(np.int32)


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
def trained_pair():
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


def error_rate(model, images, labels):
  """Top-1 error of ``model`` on pixel images."""
  logits = model(fia_tf.preprocessing.inception(np.asarray(images)),
                 training=False)
  return float(np.mean(np.argmax(logits, -1) != labels))
