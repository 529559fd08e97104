"""Gradient transforms: applied to the input gradient before the update.

``none`` and ``ti``: TI (Dong et al., CVPR 2019), the gradient smoothed
with the original's Gaussian kernel (depthwise, SAME zero padding), before
the ``mean|g|`` normalisation.
"""

import numpy as np
import tensorflow as tf

from fia_tf.attacks import input_transforms
from fia_tf.attacks import parts


def gaussian_kernel(size, nsig):
  """The original's TI kernel: outer product of N(0,1) densities on
  ``linspace(-nsig, nsig, size)``, normalised to sum 1. ``[size, size]``."""
  x = np.linspace(-nsig, nsig, size)
  pdf = np.exp(-x**2 / 2) / np.sqrt(2 * np.pi)
  kernel = np.outer(pdf, pdf)
  return (kernel / kernel.sum()).astype(np.float32)


def depthwise(kernel, channels):
  """``[k, k]`` -> depthwise filter ``[k, k, channels, 1]``."""
  return np.repeat(kernel[:, :, None, None], channels, axis=2)


class TranslationInvariance:
  """TI: depthwise Gaussian smoothing of the gradient."""

  def __init__(self, size, nsig, channels):
    self.filter = tf.constant(depthwise(gaussian_kernel(size, nsig), channels))

  def __call__(self, grad):
    return tf.nn.depthwise_conv2d(grad, self.filter, [1, 1, 1, 1], 'SAME')


Identity = input_transforms.Identity

parts.GRADIENT_TRANSFORMS.register(
    'none', lambda context: Identity(), description='no gradient transform')
parts.GRADIENT_TRANSFORMS.register(
    'ti', lambda context: TranslationInvariance(
        context.config.tkern_size, context.config.tkern_nsig,
        context.channels),
    token='TI', settings=('tkern_size', 'tkern_nsig'),
    description='TI: Gaussian smoothing of the gradient (Dong et al., 2019)')
