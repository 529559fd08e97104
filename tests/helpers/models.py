"""Small deterministic Keras classifiers for tests."""

import keras


def tiny_cnn(size=32, channels=3, classes=10, seed=0):
  """conv-relu-conv-(feat)-pool-dense: small, deterministic, non-trivial."""
  keras.utils.set_random_seed(seed)
  inputs = keras.Input((size, size, channels))
  x = keras.layers.Conv2D(8, 3, padding='same', name='conv1')(inputs)
  x = keras.layers.Activation('relu', name='relu1')(x)
  x = keras.layers.Conv2D(16, 3, strides=2, padding='same', name='conv2')(x)
  x = keras.layers.Activation('relu', name='feat')(x)
  x = keras.layers.Conv2D(16, 3, padding='same', activation='relu',
                          name='conv3')(x)
  x = keras.layers.GlobalAveragePooling2D(name='pool')(x)
  outputs = keras.layers.Dense(classes, name='logits')(x)
  return keras.Model(inputs, outputs, name=f'tiny_cnn_{seed}')
