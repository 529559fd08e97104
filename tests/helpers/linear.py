"""A tiny linear net whose gradients NumPy can state by hand.

``features = x @ A + a`` (a 1x1 convolution named ``feat``), ``logits =
flatten(features) @ B + b``. Inputs are 4x4x2 pixels used as model input
unchanged (identity preprocessing), so every gradient is a matrix product.
"""

import keras
import numpy as np

import fia_tf

SIZE, CHANNELS, FEATURES, CLASSES = 4, 2, 3, 5


def weights(seed=0):
  rs = np.random.RandomState(seed)
  return dict(A=rs.normal(0, 2e-3, (CHANNELS, FEATURES)),
              a=rs.normal(0, 0.1, FEATURES),
              B=rs.normal(0, 0.3, (SIZE * SIZE * FEATURES, CLASSES)),
              b=rs.normal(0, 0.1, CLASSES))


def source(seed=0):
  """The Keras net with the weights of :func:`weights`, as a SourceModel."""
  w = weights(seed)
  inputs = keras.Input((SIZE, SIZE, CHANNELS))
  conv = keras.layers.Conv2D(FEATURES, 1, name='feat')
  dense = keras.layers.Dense(CLASSES, name='logits')
  outputs = dense(keras.layers.Flatten(name='flat')(conv(inputs)))
  model = keras.Model(inputs, outputs, name=f'linear_{seed}')
  conv.set_weights([w['A'][None, None], w['a']])
  dense.set_weights([w['B'], w['b']])
  return fia_tf.SourceModel(model, feature_layer='feat', name='linear')


def images(n, seed=1):
  return np.random.RandomState(seed).uniform(
      0, 255, (n, SIZE, SIZE, CHANNELS)).round().astype(np.float32)


def softmax(z):
  e = np.exp(z - z.max(axis=1, keepdims=True))
  return e / e.sum(axis=1, keepdims=True)


def features(w, x):
  return x.astype(np.float64) @ w['A'] + w['a']


def logits_of_features(w, h):
  return h.reshape(len(h), -1) @ w['B'] + w['b']


def softmax_gradients(w, x, labels):
  """``(d p_y / d features, d p_y / d x)`` of each image, by hand."""
  p = softmax(logits_of_features(w, features(w, x)))
  onehot = np.eye(CLASSES)[labels]
  py = (p * onehot).sum(axis=1, keepdims=True)
  dz = py * (onehot - p)                     # d p_y / d z_k
  dh = (dz @ w['B'].T).reshape(x.shape[:3] + (FEATURES,))
  return dh, dh @ w['A'].T


def cross_entropy(w, h, labels):
  p = softmax(logits_of_features(w, h))
  return -np.log(p[np.arange(len(h)), labels])
