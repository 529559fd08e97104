"""The mini demo: FIA against its baselines on Fashion-MNIST, on a laptop.

* :mod:`.models`: five small architecture families (the "mini models"),
  their static helpers and defences, with feature layers and weights files;
* :mod:`.train`: normal and ensemble adversarial training;
* :mod:`.demo`: the transfer table, the eps sweep and the figures;
* :mod:`.ablation`: success vs FIA layer, N and drop probability.

The data set is :mod:`fia_tf.data.fashion_mnist`; the transfer runner,
tables and figures are :mod:`fia_tf.evaluation`'s.
"""
