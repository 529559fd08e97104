"""The perf layer: attack speed and memory against the roofline.

:mod:`.roofline` times attacks and the forward/backward passes they must
do (their roofline) in the same process, with peak memory; the binary
``experiments/speed.py`` (``make speed``) runs it for the zoo nets, one
process per (model, batch, XLA setting).
"""

from fia_tf.perf import roofline

__all__ = ['roofline']
