"""Input-transformation defences as evaluation targets.

A defended target is written ``<target>+<defence>[+<defence>...]``, e.g.
``efficientnet_lite1+jpeg75``, ``inception_v3+bitred4``, ``vgg_16+fd``,
``resnet_v2_50+rp``, ``vgg_16+median3``: the defences transform the 0..255
pixels, in order, before the target's own preprocessing. A defence is its
name, optionally followed by its integer parameter:

* ``jpeg<quality>``: JPEG compression (:mod:`.jpeg`), quality 75;
* ``bitred<bits>``: bit-depth reduction (:mod:`.bitred`), 4 bits;
* ``fd<step>``: feature distillation (:mod:`.fd`), high-band step 30 (low
  band 25);
* ``rp<canvas>``: random resize and pad (:mod:`.rp`), canvas 331 for 299
  inputs (248 for 224);
* ``median<window>``: median smoothing (:mod:`.median`), 3 x 3.

:func:`defend` wraps any target (a registry name, a Keras model, a
:class:`fia_tf.SourceModel` or a :class:`fia_tf.evaluation.Target`);
:func:`fia_tf.evaluation.as_target` accepts the spec strings directly.
"""

import re

from fia_tf.evaluation.defences import base
from fia_tf.evaluation.defences import bitred
from fia_tf.evaluation.defences import fd
from fia_tf.evaluation.defences import jpeg
from fia_tf.evaluation.defences import median
from fia_tf.evaluation.defences import rp
from fia_tf.evaluation.defences.base import DefendedTarget
from fia_tf.evaluation.defences.base import Defence
from fia_tf.evaluation.defences.bitred import BitDepth
from fia_tf.evaluation.defences.fd import FeatureDistillation
from fia_tf.evaluation.defences.jpeg import Jpeg
from fia_tf.evaluation.defences.median import Median
from fia_tf.evaluation.defences.rp import ResizePad

# name -> (factory of the optional integer parameter, one line of help).
DEFENCES = {
    'jpeg': (jpeg.Jpeg, 'JPEG compression, jpeg<quality 1-100>, default 75'),
    'bitred': (bitred.BitDepth,
               'bit-depth reduction, bitred<bits 1-8>, default 4'),
    'fd': (fd.FeatureDistillation,
           'feature distillation (Liu et al. 2019), fd<high-band step>, '
           'default 30 (low band 25)'),
    'rp': (rp.ResizePad, 'random resize and pad (Xie et al. 2018), '
           'rp<canvas>, default 331 for 299 inputs'),
    'median': (median.Median, 'median smoothing, median<window>, default 3'),
}
_SPEC = re.compile(r'^([a-z_]+?)(\d*)$')


def known():
  """One line listing the defence names and their parameters."""
  return ', '.join(f'{name} ({text})' for name, (_, text) in
                   DEFENCES.items())


def make(spec):
  """A :class:`Defence` from its spec string (``'jpeg75'``, ``'rp'``).

  Raises:
    ValueError: an unknown name (the known ones are listed) or a bad
      parameter (named).
  """
  if isinstance(spec, Defence):
    return spec
  match = _SPEC.match(str(spec).strip().lower())
  if not match or match.group(1) not in DEFENCES:
    raise ValueError(f'unknown defence {spec!r}; known: '
                     f'{", ".join(DEFENCES)} (e.g. jpeg75, bitred4, fd, rp, '
                     'median3)')
  factory = DEFENCES[match.group(1)][0]
  return factory(int(match.group(2))) if match.group(2) else factory()


def split(name):
  """``'vgg_16+jpeg75+median3'`` -> ``('vgg_16', ['jpeg75', 'median3'])``.

  Raises:
    ValueError: an empty model name or defence.
  """
  base_name, *parts = str(name).split('+')
  if not base_name or any(not p for p in parts):
    raise ValueError(f'bad target {name!r}: write <model>+<defence>, e.g. '
                     'inception_v3+jpeg75')
  return base_name, parts


def base_name(name):
  """The model of a target spec (``'vgg_16'`` for ``'vgg_16+fd'``)."""
  return split(name)[0]


def check(name):
  """Validates a target spec's defences (not the model); returns them.

  Raises:
    ValueError: naming the bad defence and the target.
  """
  _, parts = split(name)
  out = []
  for part in parts:
    try:
      out.append(make(part))
    except ValueError as e:
      raise ValueError(f'target {name!r}: {e}') from None
  return out


def defend(target, *defences, **kwargs):
  """``target`` behind ``defences`` (specs or :class:`Defence` s).

  Args:
    target: anything :func:`fia_tf.evaluation.as_target` takes.
    *defences: applied in order.
    **kwargs: for :func:`fia_tf.evaluation.as_target`.

  Returns:
    A :class:`DefendedTarget`.
  """
  from fia_tf.evaluation import targets as targets_lib  # pylint: disable=import-outside-toplevel
  made = []
  for spec in defences:
    made.append(make(spec))
  return DefendedTarget(targets_lib.as_target(target, **kwargs), made)


__all__ = ['BitDepth', 'DEFENCES', 'DefendedTarget', 'Defence',
           'FeatureDistillation', 'Jpeg', 'Median', 'ResizePad', 'base',
           'base_name', 'bitred', 'check', 'defend', 'fd', 'jpeg', 'known',
           'make', 'median', 'rp', 'split']
