"""fia_tf: the Feature Importance-aware Attack and its baselines in TF2/Keras."""

from fia_tf import preprocessing
from fia_tf.attack import Attack
from fia_tf.config import AttackConfig
from fia_tf.layer import AttackLayer
from fia_tf.methods import Parts
from fia_tf.methods import parse_method
from fia_tf.source import SourceModel
from fia_tf.source import feature_models

__all__ = ['Attack', 'AttackConfig', 'AttackLayer', 'Parts', 'SourceModel',
           'feature_models', 'parse_method', 'preprocessing']
__version__ = '0.1.0'

