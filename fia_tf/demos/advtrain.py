"""Adversarial training with :class:`fia_tf.AttackLayer` (``make demo-advtrain``).

The attack layer used the way a user would use it in their own TF code: one
mini-zoo model (by default the Inception-style one, as the paper's defended
targets are adversarially trained Inception-v3s) is fine-tuned on part of the
committed Fashion-MNIST subset, and the transfer attacks of the mini demo,
crafted on the *other* mini models, are evaluated against it before and
after. Model variants (columns of the tables):

* ``base``: the committed weights, not fine-tuned;
* ``clean``: fine-tuned on clean images only, with the same optimiser,
  epochs and data as the adversarial variants; it separates what fine-tuning
  alone does from what the adversarial examples do;
* ``MIM`` / ``FIA`` (any method string): the attack layer is *inside* the
  Keras model given to ``model.fit``, attacking the model being trained at
  its current weights on every step (Madry et al., 2018, with the attack of
  the column); the layer is the identity outside training
  (``training_only``);
* ``tfdata:MIM`` (``tfdata:`` + a method): the attack layer runs in a
  ``tf.data`` pipeline (``dataset.map``) and attacks every batch on the fly
  against a frozen copy of the base model, the way a pipeline adds
  adversarial examples from a fixed model (the static models of Tramer et
  al., 2018).

Every adversarial variant minimises the mean of the clean and the adversarial
cross-entropy (Goodfellow et al., 2015), so clean accuracy is trained for
too. The fine-tuning images (the first ``train_images`` of the subset) and
the evaluation images (the next ``eval_images``) are disjoint.

The evaluation is the mini demo's (:mod:`fia_tf.evaluation.transfer`): the
same adversarial images, crafted once per (source, method), are scored on
every variant, so the columns differ only by the target's weights.
"""

import dataclasses
import pathlib
import time
from typing import Optional, Tuple

import keras
import numpy as np
import tensorflow as tf

from fia_tf import preprocessing
from fia_tf import records
from fia_tf.attacks import config as config_lib
from fia_tf.attacks import layer as layer_lib
from fia_tf.attacks import methods as methods_lib
from fia_tf.data import fashion_mnist
from fia_tf.data import files
from fia_tf.demos.mini import demo as mini_demo
from fia_tf.demos.mini import models as zoo
from fia_tf.evaluation import metrics as metrics_lib
from fia_tf.evaluation import plots
from fia_tf.evaluation import tables
from fia_tf.evaluation import transfer

BASE = 'base'
CLEAN = 'clean'
TFDATA = 'tfdata:'
VARIANTS = (CLEAN, 'MIM', 'FIA', TFDATA + 'MIM')
# (metric, short name, column title) of the summary tables.
METRICS = (('success_changed', 'changed', 'changed'),
           ('success_wrong', 'wrong', 'wrong'),
           ('success_correct', 'correct', 'wrong among clean-correct'))


@dataclasses.dataclass(frozen=True)
class AdvTrainConfig:
  """Settings of a ``demo-advtrain`` run.

  Attributes:
    model: the mini-zoo model fine-tuned (a normal model).
    variants: fine-tuning variants besides ``base`` (see the module doc):
      ``'clean'``, a method string, or ``'tfdata:'`` + a method string.
    sources: models crafting the evaluation's transfer attacks (default:
      every other normal mini model).
    methods: the evaluation's attack methods (the mini demo's).
    eps: L-infinity budget of the evaluation attacks (0..255).
    num_iter: their iterations (alpha = eps / num_iter).
    ens: FIA's N in the evaluation attacks.
    keep_prob: FIA's keep probability in the evaluation attacks (the
      paper's 0.7 against normal targets; every variant gets the same
      images, so one value for all).
    tkern_size: TI's kernel (the mini demo's).
    train_eps: budget of the attacks made during training.
    train_num_iter: their iterations (alpha = train_eps / train_num_iter).
    train_ens: FIA's N during training.
    epochs: fine-tuning epochs.
    batch_size: fine-tuning batch size.
    learning_rate: Adam's rate (constant: a short fine-tune).
    train_images: images of the subset fine-tuned on (the first ones).
    eval_images: images evaluated on (the next ones, disjoint).
    eval_batch_size: images per evaluation attack call.
    seed: seed of all randomness (weights order, shuffling, attacks).
    model_dir: the mini models' weights.
    subset_path: the committed Fashion-MNIST subset (``.npz``).
  """
  model: str = 'inception'
  variants: Tuple[str, ...] = VARIANTS
  sources: Optional[Tuple[str, ...]] = None
  methods: Tuple[str, ...] = mini_demo.METHODS
  eps: float = 24.0
  num_iter: int = 10
  ens: int = 30
  keep_prob: float = 0.7
  tkern_size: int = 5
  train_eps: float = 24.0
  train_num_iter: int = 5
  train_ens: int = 10
  epochs: int = 4
  batch_size: int = 50
  learning_rate: float = 3e-4
  train_images: int = 500
  eval_images: int = 500
  eval_batch_size: int = 500
  seed: int = 0
  model_dir: str = str(zoo.MODEL_DIR)
  subset_path: str = str(pathlib.Path('data') / 'fashion_mnist' /
                         fashion_mnist.SUBSET_FILE)

  def __post_init__(self):
    normal = [s.name for s in zoo.specs('normal')]
    if self.model not in normal:
      raise ValueError(f'model {self.model!r} cannot be fine-tuned here: '
                       f'choose one of the normal mini models {normal}')
    for name in self.sources or ():
      if name not in normal:
        raise ValueError(f'source {name!r} is not a normal mini model; '
                         f'choose from {normal}')
    if self.model in (self.sources or ()):
      raise ValueError(f'source {self.model!r} is the fine-tuned model: the '
                       'evaluation is black-box, drop it from the sources')
    if not self.variants or len(set(self.variants)) != len(self.variants):
      raise ValueError(f'variants must be distinct and non-empty, got '
                       f'{self.variants!r}')
    for variant in self.variants:
      if variant == CLEAN:
        continue
      try:
        methods_lib.parse_method(variant_method(variant))
      except ValueError as e:
        raise ValueError(f'variant {variant!r}: {e}; a variant is '
                         f"'{CLEAN}', a method or '{TFDATA}<method>'") from None
    for field in ('epochs', 'batch_size', 'train_images', 'eval_images',
                  'num_iter', 'train_num_iter', 'ens', 'train_ens',
                  'eval_batch_size'):
      value = getattr(self, field)
      if not isinstance(value, int) or value < 1:
        raise ValueError(f'{field} must be a positive integer, got {value!r}')
    if self.train_images + self.eval_images > fashion_mnist.SUBSET_SIZE:
      raise ValueError(
          f'train_images + eval_images = {self.train_images} + '
          f'{self.eval_images} exceeds the {fashion_mnist.SUBSET_SIZE} '
          'images of the committed subset; lower one of them')

  def source_names(self):
    return tuple(self.sources or [s.name for s in zoo.specs('normal')
                                  if s.name != self.model])

  def settings(self):
    """The evaluation attacks' :class:`fia_tf.AttackConfig` fields."""
    return dict(eps=float(self.eps), alpha=float(self.eps / self.num_iter),
                num_iter=self.num_iter, momentum=1.0, ens=self.ens,
                tkern_size=self.tkern_size, seed=self.seed)

  def train_attack(self, method):
    """The :class:`fia_tf.AttackConfig` of the attacks made in training."""
    return config_lib.AttackConfig(
        method=method, eps=float(self.train_eps),
        alpha=float(self.train_eps / self.train_num_iter),
        num_iter=self.train_num_iter, momentum=1.0, ens=self.train_ens,
        keep_prob=self.keep_prob, tkern_size=self.tkern_size,
        ce_labels='true', seed=self.seed)

  def columns(self):
    return (BASE,) + tuple(self.variants)


def variant_method(variant):
  """The attack method of a variant (``None`` for ``clean``)."""
  if variant == CLEAN:
    return None
  return variant[len(TFDATA):] if variant.startswith(TFDATA) else variant


def attack_layer(model, config, method, training_only):
  """An :class:`fia_tf.AttackLayer` on a mini model with the training
  attack ``method`` of ``config``."""
  return layer_lib.AttackLayer(
      model, preprocess=zoo.PREPROCESS,
      feature_layer=zoo.spec(config.model).feature_layer,
      attack=config.train_attack(method), training_only=training_only)


def adversarial_pipeline(layer, dataset):
  """``tf.data``: batches ``(x, y)`` -> ``(x, layer(x, y), y)``.

  The attack runs inside ``dataset.map``, batch by batch, as the pipeline is
  consumed. Each image's randomness is keyed by its content (the layer's
  default ids), so a batch gets the same adversarial images here as from a
  direct call of the layer.
  """
  return dataset.map(lambda x, y: (x, layer(x, y, training=True), y))


def _loss():
  return keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def _compile(trainer, config, outputs):
  trainer.compile(
      optimizer=keras.optimizers.Adam(config.learning_rate),
      loss=[_loss()] * outputs,
      loss_weights=[1.0 / outputs] * outputs,
      # Graph mode, no XLA: the project measured XLA slower on CPUs.
      jit_compile=False)


def _unit(x):
  return preprocessing.unit(x)


def fine_tune(config, variant, train, log=print):
  """Fine-tunes a fresh copy of ``config.model`` (committed weights).

  Args:
    config: an :class:`AdvTrainConfig`.
    variant: ``'clean'``, a method, or ``'tfdata:'`` + a method.
    train: ``(float32 pixels [N, 28, 28, 1], int32 labels [N])``.
    log: line logger.

  Returns:
    ``(keras model, record)``; the record has the per-epoch losses and the
    seconds.
  """
  keras.utils.set_random_seed(config.seed)
  model = zoo.load(config.model, config.model_dir)
  images, labels = train
  method = variant_method(variant)
  start = time.time()
  if method is None:
    inputs = keras.Input(zoo.INPUT_SHAPE)
    trainer = keras.Model(inputs, model(_unit(inputs)))
    _compile(trainer, config, 1)
    history = trainer.fit(images, labels, batch_size=config.batch_size,
                          epochs=config.epochs, shuffle=True, verbose=0)
  elif variant.startswith(TFDATA):
    # A frozen copy of the base model crafts the examples in the pipeline.
    frozen = zoo.load(config.model, config.model_dir)
    frozen.trainable = False
    layer = attack_layer(frozen, config, method, training_only=False)
    clean_in = keras.Input(zoo.INPUT_SHAPE, name='clean')
    adv_in = keras.Input(zoo.INPUT_SHAPE, name='adversarial')
    trainer = keras.Model([clean_in, adv_in], [model(_unit(clean_in)),
                                               model(_unit(adv_in))])
    _compile(trainer, config, 2)
    dataset = tf.data.Dataset.from_tensor_slices((images, labels)).shuffle(
        len(images), seed=config.seed, reshuffle_each_iteration=True).batch(
            config.batch_size)
    dataset = adversarial_pipeline(layer, dataset).map(
        lambda x, adv, y: ((x, adv), (y, y))).prefetch(1)
    # The pipeline shuffles (seeded); Keras cannot shuffle a dataset.
    history = trainer.fit(dataset, epochs=config.epochs, shuffle=False,
                          verbose=0)
  else:
    # The layer attacks the model being trained, at its current weights.
    layer = attack_layer(model, config, method, training_only=True)
    pixels = keras.Input(zoo.INPUT_SHAPE, name='images')
    truth = keras.Input((), dtype='int32', name='labels')
    adversarial = layer(pixels, truth)
    trainer = keras.Model([pixels, truth], [model(_unit(pixels)),
                                            model(_unit(adversarial))])
    _compile(trainer, config, 2)
    history = trainer.fit([images, labels], [labels, labels],
                          batch_size=config.batch_size, epochs=config.epochs,
                          shuffle=True, verbose=0)
  seconds = time.time() - start
  losses = [float(v) for v in history.history['loss']]
  if log:
    log(f'fine-tuned {config.model} ({variant}): loss per epoch '
        + ', '.join(f'{v:.4f}' for v in losses) + f', {seconds:.1f} s')
  return model, {'loss': losses, 'seconds': seconds}


def column_title(column):
  """A variant's label in figures."""
  method = variant_method(column)
  if column == BASE:
    return 'base (committed)'
  if method is None:
    return 'fine-tuned, clean'
  if column.startswith(TFDATA):
    return f'{method} in tf.data\n(frozen source)'
  return f'{method} in fit'


def _target_name(config, column):
  return config.model if column == BASE else f'{config.model}+{column}'


def _means(rows, column_names, methods):
  """``{metric: {column: {method or 'all': mean rate over sources}}}``."""
  out = {}
  for metric, _, _ in METRICS:
    out[metric] = {}
    for column, target in column_names.items():
      mine = transfer.select(rows, target=target)
      per = {m: float(np.mean([r[metric] for r in mine if r['method'] == m]))
             for m in methods}
      per['all'] = float(np.mean([r[metric] for r in mine]))
      out[metric][column] = per
  return out


def summary_markdown(config, means, clean, counts):
  """The variants table: clean accuracy and the three success metrics
  averaged over every (source, method)."""
  n = config.eval_images
  cells = len(config.source_names()) * len(config.methods)
  lines = [f'| model | clean accuracy (n={n}) | '
           + ' | '.join(f'{title} (mean of {cells})'
                        for _, _, title in METRICS) + ' |',
           '|---|---|' + '---|' * len(METRICS)]
  for column in config.columns():
    values = []
    for metric, _, _ in METRICS:
      text = f'{100 * means[metric][column]["all"]:.1f}'
      if metric in metrics_lib.DENOMINATORS:
        text += f' (n={counts[column]})'
      values.append(text)
    lines.append(f'| {_target_name(config, column)} | '
                 f'{100 * clean[column]:.1f} | ' + ' | '.join(values) + ' |')
  return '\n'.join(lines) + '\n'


def summary_csv(config, means, clean, counts):
  """CSV of the variants table, one row per (column, method), percent."""
  lines = ['model,variant,method,n,clean_accuracy,success_changed,'
           'success_wrong,success_correct,n_correct']
  for column in config.columns():
    for method in list(config.methods) + ['all']:
      lines.append(','.join(
          [_target_name(config, column), column, method,
           str(config.eval_images), f'{100 * clean[column]:.1f}'] +
          [f'{100 * means[m][column][method]:.1f}' for m, _, _ in METRICS] +
          [str(counts[column])]))
  return '\n'.join(lines) + '\n'


def method_markdown(config, means, metric, title):
  """Methods x variants (mean over sources) for one metric."""
  columns = config.columns()
  lines = [f'**{title}: mean over the {len(config.source_names())} sources '
           '(%)**', '', '| method | ' + ' | '.join(columns) + ' |',
           '|---|' + '---|' * len(columns)]
  for method in config.methods:
    lines.append(f'| {method} | ' + ' | '.join(
        f'{100 * means[metric][c][method]:.1f}' for c in columns) + ' |')
  return '\n'.join(lines) + '\n'


def _predictions(result, targets, truth):
  """``{key: labels}`` of every target on the clean and adversarial images,
  for re-checking the tables (``truth``, ``<target>|clean``,
  ``<target>|<set>``)."""
  out = {'truth': np.asarray(truth, np.int64)}
  for column, target in targets.items():
    out[f'{target.name}|clean'] = target.predict(result['images'])
    for name, adversarial in result['adversarial'].items():
      out[f'{target.name}|{name}'] = target.predict(adversarial)
  return out


def write_figure(path, config, means, clean):
  """Heatmaps: methods (mean over sources) x variants, changed and wrong
  among clean-correct."""
  columns = config.columns()
  labels = [f'{column_title(c)}\nclean acc. {100 * clean[c]:.1f}%'
            for c in columns]
  panels = []
  for metric, _, title in (METRICS[0], METRICS[2]):
    values = np.array([[100 * means[metric][c][m] for c in columns]
                       for m in config.methods])
    panels.append((f'Black-box success on {config.model}: {title} (%), '
                   f'eps {config.eps:g}', values, None))
  return plots.heatmaps(path, panels, list(config.methods), labels)


def examples_figure(path, config, images, labels, count=6):
  """Training-time adversarial examples from the ``tf.data`` pipeline
  (against the base model), with their perturbations."""
  model = zoo.load(config.model, config.model_dir)
  rows, names = [list(images[:count])], ['clean']
  for variant in config.variants:
    method = variant_method(variant)
    if method is None or method in names:
      continue
    layer = attack_layer(model, config, method, training_only=False)
    dataset = tf.data.Dataset.from_tensor_slices(
        (images[:count], labels[:count])).batch(count)
    _, adversarial, _ = next(iter(adversarial_pipeline(layer, dataset)))
    adversarial = adversarial.numpy()
    rows += [list(adversarial), list(128 + 4 * (adversarial - images[:count]))]
    names += [method, f'{method}: x4 diff']
  columns = [fashion_mnist.CLASS_NAMES[l] for l in labels[:count]]
  return plots.image_grid(
      path, rows, names, columns,
      title=f'tf.data pipeline: training batches attacked on the fly '
      f'({config.model}, eps {config.train_eps:g})')


def run(config=AdvTrainConfig(), out_dir=pathlib.Path('results') / 'advtrain',
        log=print, figures=True):
  """Fine-tunes every variant, evaluates transfer attacks, writes the files.

  Writes into ``out_dir``: ``results.md`` (every table), ``summary.csv``
  (per variant and method), ``table_{changed,wrong,correct}.{md,csv,json}``
  (source / method x variant, denominators included), ``evaluation.csv``
  (every metric per set and variant), ``predictions.npz`` (the labels the
  tables are computed from), ``summary.json`` and, with matplotlib,
  ``advtrain.png`` and ``examples.png``.

  Args:
    config: an :class:`AdvTrainConfig`.
    out_dir: output directory.
    log: line logger (``None``: quiet).
    figures: draw the figures.

  Returns:
    A dict: ``summary`` (what ``summary.json`` holds), ``models``
    (``{column: keras model}``), ``rows`` (evaluation rows),
    ``adversarial`` (``{set name: pixels}``) and ``eval`` / ``train``
    (``(images, labels, ids)``).
  """
  start = time.time()
  log = log or (lambda line: None)
  out_dir = pathlib.Path(out_dir)
  images, labels, ids = fashion_mnist.load_subset(
      config.subset_path, limit=config.train_images + config.eval_images)
  split = config.train_images
  train = (images[:split], labels[:split], ids[:split])
  evaluation = (images[split:], labels[split:], ids[split:])
  if len(evaluation[0]) < config.eval_images:
    raise ValueError(f'{config.subset_path} has {len(images)} images, fewer '
                     f'than train_images + eval_images')

  models = {BASE: zoo.load(config.model, config.model_dir)}
  training = {}
  for variant in config.variants:
    models[variant], training[variant] = fine_tune(config, variant,
                                                   train[:2], log)

  sources = config.source_names()
  source_models = {s: zoo.source(s, zoo.load(s, config.model_dir))
                   for s in sources}
  sets = transfer.plan_sets(sources, list(config.methods), config.settings(),
                            groups=('normal',),
                            keep_prob={'normal': config.keep_prob})
  targets = {c: mini_demo.target(_target_name(config, c), models[c])
             for c in config.columns()}
  result = transfer.run_in_memory(
      *evaluation, source_models, sets, {'normal': list(targets.values())},
      batch_size=config.eval_batch_size, control=False, log=log)
  rows = result.rows
  names = {c: t.name for c, t in targets.items()}
  means = _means(rows, names, list(config.methods))
  clean = {c: transfer.select(rows, target=names[c])[0]['clean_accuracy']
           for c in config.columns()}
  counts = {c: transfer.select(rows, target=names[c])[0]['n_correct']
            for c in config.columns()}

  md = [f'# Adversarial training with AttackLayer: {config.model} '
        f'(Fashion-MNIST, fine-tuned on {config.train_images}, evaluated on '
        f'{config.eval_images} other subset images)', '',
        f'Transfer attacks from {", ".join(sources)} (eps {config.eps:g}/255, '
        f'{config.num_iter} iterations, N = {config.ens}); training attacks '
        f'eps {config.train_eps:g}, {config.train_num_iter} iterations, '
        f'N = {config.train_ens}; {config.epochs} epochs.', '',
        '## Variants', '', summary_markdown(config, means, clean, counts)]
  for metric, _, title in METRICS:
    md += [method_markdown(config, means, metric, title), '']
  columns = [names[c] for c in config.columns()]
  for metric, short, _ in METRICS:
    table = tables.transfer_table(
        rows, metric, sources=sources, methods=list(config.methods),
        targets=columns, title=f'{tables.TITLES[metric]}, eps '
        f'{config.eps:g}/255')
    md += [tables.to_markdown(table), '']
    tables.write_table(table, out_dir, f'table_{short}', heatmap=False)
  md += ['## Per set and target', '', tables.rows_markdown(rows)]
  files.atomic_write_text(out_dir / 'results.md', '\n'.join(md))
  files.atomic_write_text(out_dir / 'summary.csv',
                          summary_csv(config, means, clean, counts))
  files.atomic_write_text(out_dir / 'evaluation.csv', tables.rows_csv(rows))
  predictions = _predictions({'images': evaluation[0],
                              'adversarial': result.adversarial}, targets,
                             evaluation[1])
  buffer = _npz_bytes(predictions)
  files.atomic_write_bytes(out_dir / 'predictions.npz', buffer)
  written = ['results.md', 'summary.csv', 'table_*.md/.csv/.json',
             'evaluation.csv', 'predictions.npz', 'summary.json']
  if figures and plots.available():
    write_figure(out_dir / 'advtrain.png', config, means, clean)
    examples_figure(out_dir / 'examples.png', config, train[0], train[1])
    written += ['advtrain.png', 'examples.png']
  summary = {
      'config': dataclasses.asdict(config),
      'clean_accuracy': clean, 'n_correct': counts,
      'means': {short: means[metric] for metric, short, _ in METRICS},
      'training': training, 'attack_seconds': result.attack_seconds,
      'total_seconds': time.time() - start, **records.provenance()}
  files.atomic_write_json(out_dir / 'summary.json', summary)
  log('\n'.join(md[:md.index('## Per set and target')]))
  log(f'wrote {out_dir}: ' + ', '.join(written))
  log(f'demo-advtrain finished in {summary["total_seconds"]:.0f} s')
  return {'summary': summary, 'models': models, 'rows': rows,
          'adversarial': result.adversarial, 'eval': evaluation,
          'train': train}


def _npz_bytes(arrays):
  """``np.savez`` into bytes (written atomically by the caller)."""
  import io  # pylint: disable=import-outside-toplevel
  buffer = io.BytesIO()
  np.savez(buffer, **arrays)
  return buffer.getvalue()
