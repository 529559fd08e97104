"""The evaluation layer: transfer success of adversarial images on targets.

* :mod:`.targets`: :class:`Target` (what images are evaluated on) and its
  kinds: any Keras model, a registry model, wrapped models;
* :mod:`.defences`: input-transformation defences wrapping any target
  (``'inception_v3+jpeg75'``);
* :mod:`.metrics`: the success rates, one definition for every table;
* :mod:`.inputs`: images in memory or in directories;
* :mod:`.predictions`: cached per-file predictions of a directory;
* :mod:`.transfer`: the runner over sources x methods x targets;
* :mod:`.tables`: Markdown / CSV / JSON tables; :mod:`.plots`: figures.
"""

from fia_tf.evaluation import defences
from fia_tf.evaluation import inputs
from fia_tf.evaluation import metrics
from fia_tf.evaluation import predictions
from fia_tf.evaluation import tables
from fia_tf.evaluation import targets
from fia_tf.evaluation import transfer
from fia_tf.evaluation.defences import DefendedTarget
from fia_tf.evaluation.defences import defend
from fia_tf.evaluation.inputs import ArrayInputs
from fia_tf.evaluation.inputs import DirectoryInputs
from fia_tf.evaluation.metrics import METRICS
from fia_tf.evaluation.metrics import rates
from fia_tf.evaluation.predictions import predict_directory
from fia_tf.evaluation.targets import KerasTarget
from fia_tf.evaluation.targets import RegistryTarget
from fia_tf.evaluation.targets import Target
from fia_tf.evaluation.targets import as_target
from fia_tf.evaluation.transfer import AttackSet
from fia_tf.evaluation.transfer import TransferResult
from fia_tf.evaluation.transfer import annotate
from fia_tf.evaluation.transfer import evaluate
from fia_tf.evaluation.transfer import evaluate_directories
from fia_tf.evaluation.transfer import plan_sets
from fia_tf.evaluation.transfer import run_in_memory

# fia_tf 0.1 name of RegistryTarget.
Classifier = RegistryTarget

__all__ = ['ArrayInputs', 'AttackSet', 'Classifier', 'DefendedTarget',
           'DirectoryInputs', 'defences', 'defend',
           'KerasTarget', 'METRICS', 'RegistryTarget', 'Target',
           'TransferResult', 'annotate', 'as_target', 'evaluate',
           'evaluate_directories', 'inputs',
           'metrics', 'plan_sets', 'predict_directory', 'predictions',
           'rates', 'run_in_memory', 'tables', 'targets', 'transfer']
