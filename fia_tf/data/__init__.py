"""The data layer: image directories with labels, image files, data sets.

* :mod:`.images`: listing, labelling, reading and resizing image
  directories (``labels.txt`` / ``dev_dataset.csv``); its names are
  re-exported here, so ``fia_tf.data.image_set`` is
  :func:`fia_tf.data.images.image_set`;
* :mod:`.files`: crash-safe output (atomic writes, rounded uint8 PNGs);
* :mod:`.fashion_mnist`: the Fashion-MNIST loader of the mini demo.
"""

from fia_tf.data import files
from fia_tf.data import images
from fia_tf.data.images import *  # pylint: disable=wildcard-import
from fia_tf.data.images import __all__ as _image_names

__all__ = ['files', 'images'] + list(_image_names)
