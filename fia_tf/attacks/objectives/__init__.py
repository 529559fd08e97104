"""Objective parts, one module each; importing this registers them all.

* :mod:`.cross_entropy`: ``ce`` (MIM, DIM, TIM, PIM, ...)
* :mod:`.fia`: ``fia`` (FIA, FIAPI, FIAPIDIM, ...)
* :mod:`.nrdm`: ``nrdm``
* :mod:`.fda`: ``fda``
* :mod:`.naa`: ``naa`` (NAA, NAAPI, NAAPIDIM, ...)
* :mod:`.rpa`: ``rpa`` (RPA, RPA+PIDIM, ...; alias RPAFIA)
* :mod:`.danaa`: ``danaa`` (DANAA, DANAAPIDIM, ...)
* :mod:`.ilpd`: ``ilpd`` (ILPD, ILPD+PIDIM, ...)
* :mod:`.bfa`: ``bfa`` (BFA, BFAPIDIM, ...)
* :mod:`.p2fa`: ``p2fa`` (P2FA, P2FA+PIDIM, ...)

A new objective is a new module here (or anywhere) that subclasses
:class:`.base.Objective` and calls
``fia_tf.attacks.parts.OBJECTIVES.register(name, factory, token=...)``.
"""

from fia_tf.attacks.objectives import bfa
from fia_tf.attacks.objectives import cross_entropy
from fia_tf.attacks.objectives import danaa
from fia_tf.attacks.objectives import fda
from fia_tf.attacks.objectives import fia
from fia_tf.attacks.objectives import ilpd
from fia_tf.attacks.objectives import naa
from fia_tf.attacks.objectives import nrdm
from fia_tf.attacks.objectives import p2fa
from fia_tf.attacks.objectives import rpa
from fia_tf.attacks.objectives.base import Objective
from fia_tf.attacks.objectives.bfa import BlackBoxFeature
from fia_tf.attacks.objectives.cross_entropy import CrossEntropy
from fia_tf.attacks.objectives.danaa import DoubleAdversarialAttribution
from fia_tf.attacks.objectives.fda import FeatureDisruption
from fia_tf.attacks.objectives.fia import FeatureImportance
from fia_tf.attacks.objectives.ilpd import PerturbationDecay
from fia_tf.attacks.objectives.naa import NeuronAttribution
from fia_tf.attacks.objectives.nrdm import FeatureDistortion
from fia_tf.attacks.objectives.p2fa import PixelToFeature
from fia_tf.attacks.objectives.rpa import RandomPatch

__all__ = ['BlackBoxFeature', 'CrossEntropy', 'DoubleAdversarialAttribution',
           'FeatureDisruption', 'FeatureDistortion', 'FeatureImportance',
           'NeuronAttribution', 'Objective', 'PerturbationDecay',
           'PixelToFeature', 'RandomPatch', 'bfa', 'cross_entropy', 'danaa',
           'fda', 'fia', 'ilpd', 'naa', 'nrdm', 'p2fa', 'rpa']
