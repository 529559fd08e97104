"""Demos over the library: the Fashion-MNIST mini zoo (:mod:`.mini`), the
EfficientNet-Lite ImageNet demo (:mod:`.imagenet`) and adversarial training
with the attack layer (:mod:`.advtrain`). A regular package so that a
non-editable install ships them."""
