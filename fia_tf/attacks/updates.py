"""Update rules: the MI-FGSM momentum sign step and its patch-wise variant.

Both keep the same state ``(accumulated gradient, amplification)`` so one loop
serves both; the momentum rule leaves the amplification at zero. Step sizes
come in working-domain units (``alpha * scale``, ``eps * scale``).
"""

import numpy as np
import tensorflow as tf

from fia_tf.attacks import gradient_transforms
from fia_tf.attacks import parts


def normalized(grad):
  """``grad / mean(|grad|)`` per image, guarded.

  The original divides with no guard; a gradient that is exactly zero (a
  saturated softmax in float32) then turns the whole image into NaN. Here a
  zero gradient stays zero, so the step is zero; otherwise the result is the
  original's.
  """
  mean = tf.reduce_mean(tf.abs(grad), axis=[1, 2, 3], keepdims=True)
  return grad / tf.where(mean > 0, mean, tf.ones_like(mean))


class MomentumSign:
  """MI-FGSM (Dong et al., 2018): ``g = mu * g + grad / mean|grad|``,
  ``x += alpha * sign(g)``."""

  def __init__(self, alpha, eps, momentum):
    self.alpha, self.eps, self.momentum = alpha, eps, momentum

  def accumulate(self, grad, acc):
    return self.momentum * acc + normalized(grad)

  def __call__(self, x, grad, acc, amp):
    acc = self.accumulate(grad, acc)
    return x + self.alpha * tf.sign(acc), acc, amp


def projection_kernel(size):
  """PI's projection kernel: uniform ``1 / (k*k - 1)`` with a zero centre."""
  kernel = np.full((size, size), 1.0 / (size * size - 1), np.float32)
  kernel[size // 2, size // 2] = 0.0
  return kernel


class PatchWise(MomentumSign):
  """PI-FGSM (Gao et al., 2020) as in the FIA code.

  The step is amplified by ``beta``; the part of the accumulated
  amplification that exceeds eps is spread to the neighbours through the
  projection kernel and added with weight ``gamma * alpha * beta``. The
  momentum accumulation is kept, as in the original.
  """

  def __init__(self, alpha, eps, momentum, amplification_factor, gamma,
               kernel_size, channels):
    super().__init__(alpha, eps, momentum)
    self.step = alpha * amplification_factor
    self.gamma = gamma * self.step
    self.filter = tf.constant(
        gradient_transforms.depthwise(projection_kernel(kernel_size),
                                      channels))

  def __call__(self, x, grad, acc, amp):
    acc = self.accumulate(grad, acc)
    step = self.step * tf.sign(acc)
    amp = amp + step
    cut = tf.nn.relu(tf.abs(amp) - self.eps) * tf.sign(amp)
    projection = self.gamma * tf.sign(
        tf.nn.depthwise_conv2d(cut, self.filter, [1, 1, 1, 1], 'SAME'))
    return x + step + projection, acc, amp + projection


def _momentum(context):
  config = context.config
  return MomentumSign(config.alpha * context.scale,
                      config.eps * context.scale, config.momentum)


def _patch_wise(context):
  config = context.config
  return PatchWise(config.alpha * context.scale, config.eps * context.scale,
                   config.momentum, config.amplification_factor, config.gamma,
                   config.pkern_size, context.channels)


parts.UPDATE_RULES.register(
    'momentum', _momentum, token='MI', settings=('alpha', 'eps', 'momentum'),
    description='MI-FGSM momentum sign step')
parts.UPDATE_RULES.register(
    'pi', _patch_wise, token='PI',
    settings=('alpha', 'eps', 'momentum', 'amplification_factor', 'gamma',
              'pkern_size'),
    description='PI-FGSM patch-wise step (Gao et al., 2020)')
