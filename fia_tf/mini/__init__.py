"""The mini zoo: FIA against its baselines on Fashion-MNIST, on a laptop.

* :mod:`fia_tf.mini.data`: the Fashion-MNIST loader and the committed subset.
* :mod:`fia_tf.mini.models`: five small architecture families and their
  registry (feature layers for FIA, weights files).
* :mod:`fia_tf.mini.train`: normal and ensemble adversarial training.
* :mod:`fia_tf.mini.demo`: the transfer table, the eps sweep and figures.
* :mod:`fia_tf.mini.ablation`: success vs FIA layer, N and drop probability.
* :mod:`fia_tf.mini.png`: plots as PNGs with NumPy only.
"""
