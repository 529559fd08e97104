"""New parts plug into the engine through the part tables alone.

A test file registers objectives the engine has never seen and runs them
through the unchanged engine; the engine's source names no part.
"""

import pathlib

import numpy as np
import pytest
import tensorflow as tf

import fia_tf
from fia_tf.attacks import engine
from fia_tf.attacks import parts
from fia_tf.attacks.objectives import base


class AwayFromLabel(base.Objective):
  """Toy objective: minus the logit of the given label."""

  @property
  def needs_labels(self):
    return True

  def prepare(self, images, labels, ids):
    del images, ids
    return (tf.one_hot(labels, self.network.num_classes),)

  def __call__(self, out, state, clean):
    del clean
    (onehot,) = state
    return -tf.reduce_sum(out * onehot, axis=-1)


class CopySum(base.Objective):
  """Toy objective on features whose preparation aggregates 3 copies.

  Every copy is the clean image itself, so the aggregate must be three
  times the clean image's feature gradient.
  """
  output = 'features'
  copies = 3

  @property
  def needs_labels(self):
    return True

  def copies_per_image(self):
    return self.copies

  def prepare(self, images, labels, ids):
    onehot = tf.one_hot(labels, self.network.num_classes)
    target = lambda logits, selector: tf.reduce_sum(logits * selector)
    same = lambda pixels, index, copy_ids: self.network.preprocess(pixels)
    total = self.network.aggregate(images, ids, onehot, self.copies, same,
                                   target)
    single = self.network.feature_gradient(self.network.preprocess(images),
                                           onehot, target)
    return (total, single)

  def __call__(self, out, state, clean):
    total, _ = state
    return tf.reduce_sum(out * total, axis=[1, 2, 3])


class Stepped(AwayFromLabel):
  """Toy objective whose state advances: AWAY's value plus ``1000 t`` plus
  the mean pixel of the iterate the engine hands to :meth:`advance`."""

  def prepare(self, images, labels, ids):
    onehot = super().prepare(images, labels, ids)[0]
    zero = tf.zeros(tf.shape(images)[:1])
    return onehot, zero, zero

  def advance(self, state, iterate, ids, t):
    onehot, _, _ = state
    mean = tf.reduce_mean(iterate, axis=[1, 2, 3])
    return onehot, tf.cast(t, tf.float32) + 0 * mean, mean

  def __call__(self, out, state, clean):
    onehot, t, mean = state
    return super().__call__(out, (onehot,), clean) + 1000 * t + mean


@pytest.fixture
def toy_parts():
  parts.OBJECTIVES.register('away', AwayFromLabel, token='AWAY')
  parts.OBJECTIVES.register('copysum', CopySum, token='COPYSUM')
  parts.OBJECTIVES.register('stepped', Stepped, token='STEPPED')
  yield
  parts.OBJECTIVES.unregister('away')
  parts.OBJECTIVES.unregister('copysum')
  parts.OBJECTIVES.unregister('stepped')


def test_registered_objective_parses_and_combines(toy_parts):
  assert fia_tf.parse_method('AWAY') == fia_tf.Parts(objective='away')
  assert fia_tf.parse_method('away+ti-di') == fia_tf.Parts(
      objective='away', input_transform='di', gradient_transform='ti')
  assert fia_tf.parse_method('AWAYPIDIM').name == 'AWAYPIDIM'
  with pytest.raises(ValueError, match='AWAY'):
    fia_tf.parse_method('AWAYX')  # the grammar lists the new prefix


def test_unregistered_objective_is_unknown():
  with pytest.raises(ValueError, match='cannot read'):
    fia_tf.parse_method('AWAY')


def test_registered_objective_runs_through_the_engine(toy_parts, tiny_source,
                                                       images, labels):
  """One step of the toy objective equals the step computed by hand."""
  config = fia_tf.AttackConfig(method='AWAY', num_iter=1, eps=8.0, alpha=2.0)
  attack = fia_tf.Attack(tiny_source, config)
  ours = attack(images, labels).numpy()
  x = tf.constant(images)
  with tf.GradientTape() as tape:
    tape.watch(x)
    logits = tiny_source.model(tiny_source.preprocess(x), training=False)
    loss = -tf.reduce_sum(logits * tf.one_hot(labels, 10))
  grad = tape.gradient(loss, x).numpy()
  expected = np.clip(images + 2.0 * np.sign(grad), 0, 255)
  np.testing.assert_allclose(ours, expected, atol=1e-4)
  # Labels are required because the part says so.
  with pytest.raises(ValueError, match='needs labels'):
    attack(images)
  # Ten iterations lower the label's logit.
  attack = fia_tf.Attack(tiny_source, fia_tf.AttackConfig(method='AWAY'))
  _, values = attack.run(images, labels)
  assert np.all(values.numpy()[-1] > values.numpy()[0])


def test_registered_objective_aggregates_copies(toy_parts, tiny_source,
                                                images, labels):
  """A new part's copies go through the engine's memory-bounded passes."""
  config = fia_tf.AttackConfig(method='COPYSUM', num_iter=1, mask_batch=4)
  attack = fia_tf.Attack(tiny_source, config)
  assert attack.mask_batch == 4
  # 6 images x 3 copies in passes of <= 4: 3 images x 1 copy, 6 passes.
  assert attack.pass_layout(6) == (3, 1, 2, 3)
  total, single = attack.objective.prepare(tf.constant(images), labels,
                                           tf.range(6, dtype=tf.int64))
  np.testing.assert_allclose(total.numpy(), 3 * single.numpy(), rtol=1e-6,
                             atol=1e-7)
  assert np.abs(single.numpy()).max() > 0
  out = attack(images, labels).numpy()
  assert np.abs(out - images).max() <= 16 + 1e-4


@pytest.mark.parametrize('jit_compile', [False, True])
def test_objective_state_advances_with_the_iterate(toy_parts, tiny_source,
                                                   images, labels,
                                                   jit_compile):
  """advance() gets every iteration's index and iterate, and its state
  reaches that iteration's value; the steps are AWAY's."""
  def run(method, num_iter):
    return fia_tf.Attack(tiny_source, fia_tf.AttackConfig(
        method=method, num_iter=num_iter, jit_compile=jit_compile)).run(
            images, labels, np.arange(6))
  adversarial, values = run('STEPPED', 3)
  away, away_values = run('AWAY', 3)
  np.testing.assert_array_equal(adversarial.numpy(), away.numpy())
  iterates = [images] + [run('AWAY', t)[0].numpy() for t in (1, 2)]
  for t, iterate in enumerate(iterates):
    np.testing.assert_allclose(
        values.numpy()[t] - away_values.numpy()[t],
        1000 * t + iterate.mean(axis=(1, 2, 3)), rtol=1e-6)


def test_engine_names_no_part():
  text = pathlib.Path(engine.__file__).read_text()
  for name in parts.OBJECTIVES.names() + ['objective ==', "== 'di'",
                                          "== 'pi'", "== 'ti'"]:
    assert f"'{name}'" not in text and f'"{name}"' not in text, name
  assert 'objective ==' not in text
