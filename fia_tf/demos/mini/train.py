"""Training the mini zoo: normal training and ensemble adversarial training.

Ensemble adversarial training follows Tramer et al. (ICLR 2018): in every
step half of the batch is replaced by FGSM examples, crafted in turn (round
robin) against the model being trained and against each of its *static*
pre-trained models, which are never updated. The static models are not part
of the demo's sources or targets, so attacks on a defence are transfer
attacks from models it has never seen, as in the paper's evaluation of
ens3/ens4-adv-Inception-v3.

FGSM labels are the crafting model's own predictions, not the true labels,
to avoid label leaking (Kurakin et al., 2017). The FGSM size is drawn per
image from ``[adv_eps_low, adv_eps_high]`` pixel levels so the defence sees
a range of budgets around the demo's.
"""

import dataclasses
import json
import pathlib
import time

import keras
import numpy as np
import tensorflow as tf

from fia_tf import preprocessing
from fia_tf.data import fashion_mnist as data_lib
from fia_tf.demos.mini import models as zoo


@dataclasses.dataclass(frozen=True)
class TrainConfig:
  """Settings shared by all models of one training run.

  Attributes:
    batch_size: images per step.
    learning_rate: Adam's peak rate (cosine decay to 0 over the run).
    adv_eps_low: smallest FGSM size for adversarial training (0..255).
    adv_eps_high: largest FGSM size.
    epochs_scale: multiplies every model's epoch count (for smoke runs).
    train_limit: use only the first N training images (None: all 60000).
    seed_offset: added to every model's seed.
  """
  batch_size: int = 128
  learning_rate: float = 2e-3
  adv_eps_low: float = 8.0
  adv_eps_high: float = 32.0
  epochs_scale: float = 1.0
  train_limit: int = None
  seed_offset: int = 0


def _preprocess(pixels):
  return preprocessing.unit(pixels)


def _ce(logits, labels):
  return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
      labels, logits))


def accuracy(model, images, labels, batch_size=1000):
  """Top-1 accuracy of ``model`` on uint8 or float pixel images."""
  correct = 0
  for start in range(0, len(images), batch_size):
    x = tf.cast(images[start:start + batch_size], tf.float32)
    logits = model(_preprocess(x), training=False)
    correct += int(np.sum(np.argmax(logits, -1) ==
                          labels[start:start + batch_size]))
  return correct / len(images)


def _fgsm_fn(model):
  """FGSM against ``model`` on its own predictions; eps per image."""
  @tf.function(reduce_retracing=True)
  def fgsm(pixels, eps):
    with tf.GradientTape(watch_accessed_variables=False) as tape:
      tape.watch(pixels)
      logits = model(_preprocess(pixels), training=False)
      labels = tf.argmax(logits, -1, output_type=tf.int32)
      loss = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(
          labels, logits))
    grad = tape.gradient(loss, pixels)
    adv = pixels + eps[:, None, None, None] * tf.sign(grad)
    return tf.clip_by_value(adv, 0.0, 255.0)
  return fgsm


def train_one(spec, train, test, config=TrainConfig(), static_models=None,
              log=print):
  """Trains one zoo model from scratch.

  Args:
    spec: a :class:`fia_tf.demos.mini.models.Spec`.
    train: ``(uint8 images [N, 28, 28, 1], int labels [N])``.
    test: the same for evaluation after every epoch (may be the subset).
    config: a :class:`TrainConfig`.
    static_models: for defences, ``{name: trained keras model}``.
    log: called with one line per epoch.

  Returns:
    ``(model, history)``; history is a list of per-epoch dicts.
  """
  seed = spec.seed + config.seed_offset
  keras.utils.set_random_seed(seed)
  model = spec.build()
  images, labels = train
  if config.train_limit:
    images, labels = images[:config.train_limit], labels[:config.train_limit]
  epochs = max(1, round(spec.epochs * config.epochs_scale))
  steps_per_epoch = len(images) // config.batch_size
  schedule = keras.optimizers.schedules.CosineDecay(
      config.learning_rate, epochs * steps_per_epoch)
  optimizer = keras.optimizers.Adam(schedule)
  rs = np.random.RandomState(seed)

  @tf.function(reduce_retracing=True)
  def step(pixels, y):
    with tf.GradientTape() as tape:
      loss = _ce(model(_preprocess(pixels), training=True), y)
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
    return loss

  generators = []
  if spec.role == 'defence':
    missing = [n for n in spec.static if n not in (static_models or {})]
    if missing:
      raise ValueError(f'{spec.name} needs static models {missing}')
    # The model itself first, then each static model, in turn.
    generators = [_fgsm_fn(model)] + [_fgsm_fn(static_models[n])
                                      for n in spec.static]

  history = []
  half = config.batch_size // 2
  for epoch in range(1, epochs + 1):
    start = time.time()
    order = rs.permutation(len(images))
    losses = []
    for i in range(steps_per_epoch):
      idx = order[i * config.batch_size:(i + 1) * config.batch_size]
      pixels = tf.constant(images[idx], tf.float32)
      y = tf.constant(labels[idx], tf.int32)
      if generators:
        eps = rs.uniform(config.adv_eps_low, config.adv_eps_high,
                         half).astype(np.float32)
        fgsm = generators[(epoch * steps_per_epoch + i) % len(generators)]
        adv = fgsm(pixels[half:], tf.constant(eps))
        pixels = tf.concat([pixels[:half], adv], 0)
      losses.append(float(step(pixels, y)))
    seconds = time.time() - start
    acc = accuracy(model, *test)
    row = {'epoch': epoch, 'loss': float(np.mean(losses)),
           'test_accuracy': acc, 'seconds': seconds}
    history.append(row)
    if log:
      log(f'{spec.name} epoch {epoch}/{epochs}: loss {row["loss"]:.4f}, '
          f'test accuracy {acc:.4f}, {seconds:.1f} s')
  return model, history


def fgsm_accuracy(model, images, labels, eps, attacker=None):
  """Accuracy of ``model`` on FGSM examples crafted on ``attacker``.

  ``attacker`` defaults to the model itself (white-box FGSM)."""
  fgsm = _fgsm_fn(attacker or model)
  out = []
  for start in range(0, len(images), 1000):
    x = tf.constant(images[start:start + 1000], tf.float32)
    out.append(fgsm(x, tf.fill([len(x)], float(eps))).numpy())
  return accuracy(model, np.concatenate(out), labels)


def train_zoo(names=None, model_dir=zoo.MODEL_DIR, config=TrainConfig(),
              data_path=None, subset_path=None, log=print):
  """Trains the zoo (static models before the defences that need them).

  Writes ``<name>.weights.h5``, ``accuracy.json`` (clean accuracy on the
  full test split and on the committed subset, parameters, seconds) and
  ``train_log.json`` into ``model_dir``.

  Args:
    names: model names to train (default: all); a defence trained without
      its static models in ``names`` loads them from ``model_dir``.
    model_dir: where weights and records go.
    config: a :class:`TrainConfig`.
    data_path: optional Fashion-MNIST IDX directory tried first.
    subset_path: the committed test subset (accuracy on it is recorded).
    log: line logger.

  Returns:
    The accuracy records, ``{name: {...}}``.
  """
  names = [s.name for s in zoo.SPECS] if names is None else list(names)
  for name in names:
    zoo.spec(name)  # fail early on a typo
  model_dir = pathlib.Path(model_dir)
  model_dir.mkdir(parents=True, exist_ok=True)
  train_x, train_y, train_source = data_lib.load('train', data_path, log=log)
  test_x, test_y, _ = data_lib.load('test', data_path, log=log)
  sub_x, sub_y, _ = data_lib.load_subset(subset_path)

  accuracy_path = model_dir / 'accuracy.json'
  log_path = model_dir / 'train_log.json'
  records = json.loads(accuracy_path.read_text()) if accuracy_path.is_file(
  ) else {}
  logs = json.loads(log_path.read_text()) if log_path.is_file() else {}
  trained = {}
  total_start = time.time()
  ordered = [s for s in zoo.SPECS if s.name in names]
  # Static models first: defences need them.
  ordered.sort(key=lambda s: {'static': 0, 'normal': 1, 'defence': 2}[s.role])
  for spec in ordered:
    statics = {}
    for name in spec.static:
      statics[name] = trained.get(name) or zoo.load(name, model_dir)
    start = time.time()
    model, history = train_one(spec, (train_x, train_y), (test_x, test_y),
                               config, statics, log)
    seconds = time.time() - start
    model.save_weights(zoo.weights_path(spec.name, model_dir))
    trained[spec.name] = model
    record = {
        'role': spec.role,
        'params': int(model.count_params()),
        'epochs': len(history),
        'train_seconds': round(seconds, 1),
        'test_accuracy': accuracy(model, test_x, test_y),
        'subset_accuracy': accuracy(model, sub_x, sub_y),
    }
    if spec.role == 'defence':
      record['static_models'] = list(spec.static)
      record['fgsm16_whitebox_subset_accuracy'] = fgsm_accuracy(
          model, sub_x, sub_y, 16.0)
    records[spec.name] = record
    logs[spec.name] = {'history': history, 'config': dataclasses.asdict(
        config), 'data': train_source, 'seed': spec.seed + config.seed_offset}
    log(f'{spec.name}: {record}')
    # Written after every model so an interrupted run keeps what it has.
    accuracy_path.write_text(json.dumps(records, indent=1, sort_keys=True))
    log_path.write_text(json.dumps(logs, indent=1, sort_keys=True))
  log(f'trained {len(ordered)} models in {time.time() - total_start:.0f} s')
  return records
