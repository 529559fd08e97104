"""The attack layer: one compiled loop (:mod:`.engine`) from parts.

* :mod:`.engine`: :class:`Attack`, the loop (read this file first);
* :mod:`.config`: :class:`AttackConfig`, every setting and its check;
* :mod:`.methods`: method strings <-> :class:`Parts`;
* :mod:`.parts`: the name -> factory tables of the four part kinds;
* :mod:`.objectives` (one module per objective), :mod:`.input_transforms`,
  :mod:`.gradient_transforms`, :mod:`.updates`: the parts;
* :mod:`.network`: the source model as parts see it, with the
  memory-bounded copy aggregation;
* :mod:`.source`: :class:`SourceModel`, what an attack needs to know of a
  Keras classifier; :mod:`.rng`: per-image keyed randomness;
* :mod:`.layer`: :class:`AttackLayer`, an attack as a Keras layer.

A new attack is a new part: a module that registers it in its table
(``parts.OBJECTIVES.register('name', factory, token='NAME')``); the engine
is not edited.
"""

from fia_tf.attacks import parts
from fia_tf.attacks import objectives
from fia_tf.attacks import input_transforms
from fia_tf.attacks import gradient_transforms
from fia_tf.attacks import updates
from fia_tf.attacks.config import AttackConfig
from fia_tf.attacks.engine import Attack
from fia_tf.attacks.layer import AttackLayer
from fia_tf.attacks.methods import Parts
from fia_tf.attacks.methods import parse_method
from fia_tf.attacks.source import SourceModel
from fia_tf.attacks.source import feature_models

__all__ = ['Attack', 'AttackConfig', 'AttackLayer', 'Parts', 'SourceModel',
           'feature_models', 'gradient_transforms', 'input_transforms',
           'objectives', 'parse_method', 'parts', 'updates']
