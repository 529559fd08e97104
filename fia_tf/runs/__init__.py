"""The runs layer: attacking image directories and the paper's grid.

* :mod:`.directory`: :func:`attack_directory`, a resumable, atomic attack
  of a labelled image directory into PNGs and a ``run.json`` record;
* :mod:`.grid`: the paper's grid of sources x methods x targets from a JSON
  config, attacked into directories and evaluated with
  :mod:`fia_tf.evaluation`;
* :mod:`.guards`: what every writing run checks first (output directory
  apart from the inputs, an exclusive lock) and its run errors.
"""

from fia_tf.runs import directory
from fia_tf.runs import grid
from fia_tf.runs import guards
from fia_tf.runs.directory import AttackSummary
from fia_tf.runs.directory import RunMismatchError
from fia_tf.runs.directory import attack_directory
from fia_tf.runs.directory import is_complete
from fia_tf.runs.directory import read_run

__all__ = ['AttackSummary', 'RunMismatchError', 'attack_directory',
           'directory', 'grid', 'guards', 'is_complete', 'read_run']
