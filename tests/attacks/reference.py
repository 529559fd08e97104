"""An independent, deliberately plain re-statement of the original algorithm.

Written for the tests from the FIA paper and the published attack.py
semantics, not from our engine: it works in the *model-input* domain with the
original's eps scaling, runs the model on the concatenated ``[clean, adv]``
batch as the original graph does, loops over masks in Python, normalises with
numpy, and clips to the pixel range only at the end. Comparing it with the
engine (which works in pixel space, per image, vectorised) checks that the
reformulation changes nothing.
"""

import keras
import numpy as np
import scipy.stats
import tensorflow as tf


def _normalise(grad):
  return grad / np.mean(np.abs(grad), axis=(1, 2, 3), keepdims=True)


def _depthwise(grad, kernel):
  filt = np.repeat(kernel[:, :, None, None], grad.shape[-1], axis=2)
  return tf.nn.depthwise_conv2d(grad, filt.astype(np.float32), [1, 1, 1, 1],
                                'SAME').numpy()


def ti_kernel(size, nsig=3):
  pdf = scipy.stats.norm.pdf(np.linspace(-nsig, nsig, size))
  kernel = np.outer(pdf, pdf)
  return (kernel / kernel.sum()).astype(np.float32)


def pi_kernel(size):
  kernel = np.ones((size, size), np.float32) / (size * size - 1)
  kernel[size // 2, size // 2] = 0
  return kernel


def run(model, layer, images, labels, method, pre, inv, scale, eps=16.0,
        alpha=1.6, num_iter=10, momentum=1.0, masks=None, tkern=15, amp=2.5,
        gamma=0.5, pkern=3, nrdm_noise=None):
  """Returns the original's float output (before the uint8 cast).

  Args:
    model: Keras model (model input -> logits).
    layer: feature layer name.
    images: float64 pixels [B, H, W, C].
    labels: int labels [B].
    method: one of MIM, TIM, PIM, FIA, FIAPI, FDA, NRDM.
    pre, inv: preprocessing and its inverse (numpy, float64).
    scale: model-input units per pixel unit (2/255 for inception, 1 for vgg).
    masks: list of [B, H, W, C] 0/1 arrays for FIA (None = clean only).
    nrdm_noise: [B, H, W, C] initial pixel noise for NRDM.
  """
  eps_m, alpha_m = eps * scale, alpha * scale
  both = keras.Model(model.inputs, [model.get_layer(layer).output,
                                    model.outputs[0]])
  batch = len(images)
  clean_m = pre(images).astype(np.float32)
  adv_m = pre(images + nrdm_noise if method == 'NRDM' else images)
  adv_m = adv_m.astype(np.float32)
  classes = model.outputs[0].shape[-1]
  onehot = np.eye(classes, dtype=np.float32)[np.concatenate([labels, labels])]

  weights = None
  if method.startswith('FIA'):
    weights = np.zeros(both.outputs[0].shape[1:], np.float64)[None].repeat(
        batch, 0)
    for mask in (masks if masks else [None]):
      masked = images if mask is None else images * mask
      x = tf.constant(np.concatenate([pre(masked)] * 2).astype(np.float32))
      with tf.GradientTape() as tape:
        feats, logits = both(x)
        target = tf.reduce_sum(logits * onehot)
      weights = weights + tape.gradient(target, feats).numpy()[:batch]
    weights = -(weights / np.sqrt(np.sum(np.square(weights), axis=(1, 2, 3),
                                         keepdims=True)))
    weights = weights.astype(np.float32)

  acc = np.zeros_like(adv_m)
  amplification = np.zeros_like(adv_m)
  pred = np.argmax(model(clean_m).numpy(), axis=1)
  for _ in range(num_iter):
    x_adv = tf.constant(adv_m)
    with tf.GradientTape() as tape:
      tape.watch(x_adv)
      feats, logits = both(tf.concat([clean_m, x_adv], 0))
      ori, adv = feats[:batch], feats[batch:]
      size = tf.cast(tf.size(feats), tf.float32)
      if method.startswith('FIA'):
        loss = tf.reduce_sum(adv * weights) / size
      elif method == 'NRDM':
        loss = tf.norm(ori - adv) / size
      elif method == 'FDA':
        mean = tf.reduce_mean(ori, -1, keepdims=True)
        good = tf.cast(ori < mean, tf.float32)
        bad = tf.cast(ori >= mean, tf.float32)
        loss = (tf.math.log(tf.nn.l2_loss(good * adv / size)) -
                tf.math.log(tf.nn.l2_loss(bad * adv / size)))
      else:
        target = np.eye(classes, dtype=np.float32)[pred]
        loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(
            target, logits[batch:]))
    grad = tape.gradient(loss, x_adv).numpy()
    if method == 'TIM':
      grad = _depthwise(grad, ti_kernel(tkern))
    noise = momentum * acc + _normalise(grad)
    acc = noise
    if method in ('PIM', 'FIAPI'):
      step = alpha_m * amp
      proj_gamma = gamma * step
      amplification = amplification + step * np.sign(noise)
      cut = np.clip(np.abs(amplification) - eps_m, 0, 1e4) * np.sign(
          amplification)
      projection = proj_gamma * np.sign(_depthwise(cut, pi_kernel(pkern)))
      amplification = amplification + projection
      adv_m = adv_m + step * np.sign(noise) + projection
    else:
      adv_m = adv_m + alpha_m * np.sign(noise)
    adv_m = np.clip(adv_m, clean_m.astype(np.float64) - eps_m,
                    clean_m.astype(np.float64) + eps_m).astype(np.float32)
  return inv(adv_m.astype(np.float64))
