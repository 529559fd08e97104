"""Fixtures of the zoo tests: nets with the golden weights, built once."""

import pytest

import fia_tf
from tests.helpers import golden as golden_lib


@pytest.fixture(scope='session')
def golden_nets(tmp_path_factory):
  """``get(name) -> (spec, perturbations, SourceModel)``: zoo net ``name``
  with the golden salt-0 weights loaded through the real loader, and its
  nudged weight copies (:class:`tests.helpers.golden.Perturbations`), built
  on demand and kept for the session (the golden attack tests share them)."""
  cache = {}

  def get(name):
    if name not in cache:
      spec, model, _ = golden_lib.golden_model(
          name, tmp_path_factory.mktemp(name))
      perturbations = golden_lib.Perturbations(model,
                                               golden_lib.WEIGHT_SEEDS)
      cache[name] = spec, perturbations, fia_tf.SourceModel(
          model=model, preprocess=spec.preprocess, inverse=spec.deprocess,
          scale=spec.input_units_per_pixel,
          feature_layer=spec.resolve_layer(spec.default_layer), name=name)
    return cache[name]
  return get
