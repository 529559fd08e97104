"""fia_tf: the Feature Importance-aware Attack and its baselines in TF2/Keras.

Layers, bottom to top (each imports only those below it):

* :mod:`fia_tf.preprocessing`, :mod:`fia_tf.distribute`,
  :mod:`fia_tf.progress`: conventions and utilities every layer uses;
* :mod:`fia_tf.data`: image directories, labels, files;
* :mod:`fia_tf.zoo`: the model registry and the Keras builders;
* :mod:`fia_tf.attacks`: the attack engine and its parts;
* :mod:`fia_tf.evaluation`: targets, metrics, the transfer runner, tables
  and figures;
* :mod:`fia_tf.runs`: attacking directories, the paper grid;
* :mod:`fia_tf.perf`, :mod:`fia_tf.demos`, :mod:`fia_tf.cli`: the speed
  harness, the demos and the binaries' shared code.
"""

from fia_tf import _aliases
from fia_tf import preprocessing
from fia_tf.attacks import Attack
from fia_tf.attacks import AttackConfig
from fia_tf.attacks import AttackLayer
from fia_tf.attacks import Parts
from fia_tf.attacks import SourceModel
from fia_tf.attacks import feature_models
from fia_tf.attacks import parse_method

__all__ = ['Attack', 'AttackConfig', 'AttackLayer', 'Parts', 'SourceModel',
           'feature_models', 'parse_method', 'preprocessing']
__version__ = '0.2.0'

_aliases.install()
