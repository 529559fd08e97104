"""The mini demo: FIA against its baselines on Fashion-MNIST, table and figures.

Every normal mini model attacks the committed Fashion-MNIST subset with each
method; the adversarial images are evaluated on every model, normal and
defended, by the transfer runner of :mod:`fia_tf.evaluation` (the same code
path as the paper grid and the ImageNet demo). Success is reported as
"changed" (the target's prediction differs from its prediction on the clean
image, the original code's metric), "wrong" (differs from the true label)
and "wrong among clean-correct". Black-box averages exclude the source
itself. As in the paper, FIA's keep probability is 0.7 for the examples
evaluated on normal targets and 0.9 for those evaluated on defended
targets (two runs of FIA-based methods).
"""

import dataclasses
import math
import pathlib
import time
from typing import Mapping, Optional, Tuple

import keras
import numpy as np
import tensorflow as tf

from fia_tf import preprocessing
from fia_tf import records
from fia_tf.data import fashion_mnist
from fia_tf.data import files
from fia_tf.demos.mini import models as zoo
from fia_tf.evaluation import plots
from fia_tf.evaluation import tables
from fia_tf.evaluation import targets as targets_lib
from fia_tf.evaluation import transfer

# The baselines FIA is compared with in its paper.
BASELINES = ('MIM', 'DIM', 'TIM', 'PIM', 'NRDM', 'FDA')
# FIA's successors (fia_tf/attacks/objectives/: naa, rpa, danaa, ilpd, bfa,
# p2fa), each with its official code's defaults except METHOD_SETTINGS.
FAMILY = ('NAA', 'RPA', 'DANAA', 'ILPD', 'BFA', 'P2FA')
METHODS = BASELINES + ('FIA', 'FIA+PIDIM') + FAMILY
# BFA's and P2FA's eta is an absolute L2 length in [0, 1] pixels, 28 for
# the code's 299 x 299 x 3 images (about 14/255 RMS per pixel and channel).
# The same per-pixel RMS step on 28 x 28 x 1 images needs the length scaled
# by sqrt(28 * 28 * 1 / (299 * 299 * 3)), about 1.51; scaling by the side
# alone (28 / 299) would keep the per-pixel step only at equal channels.
FAMILY_ETA = 28.0 * math.sqrt(28 * 28 * 1 / (299 * 299 * 3))
# Per-method AttackConfig fields (``options`` are the parts' own settings);
# everything else is shared by all methods (DemoConfig.settings), so every
# method gets the same budget, steps and momentum. P2FA's scale (a feature-
# space distance "far away", 1e5) and the resolution-free settings of NAA,
# DANAA and ILPD (noise in model-input units or pixel levels, per pixel)
# stay at the code's values.
METHOD_SETTINGS = {
    'BFA': {'options': {'bfa_eta': FAMILY_ETA}},
    'P2FA': {'options': {'p2fa_eta': FAMILY_ETA}},
}
# (metric, short name) of the demo's tables.
METRICS = (('success_changed', 'changed'), ('success_wrong', 'wrong'),
           ('success_correct', 'correct'))
AVERAGES = ('normal', 'defended')
# The sweep runs 5 budgets; a quarter of the subset keeps it to minutes.
SWEEP_IMAGES = 250
_GROUP_OF_ROLE = {'normal': 'normal', 'defence': 'defended'}


@dataclasses.dataclass(frozen=True)
class DemoConfig:
  """Settings of a demo run.

  Attributes:
    eps: L-infinity budget in 0..255 pixel levels. 24 (about 0.094, near
      the usual 0.1 of Fashion-MNIST robustness work) puts the strongest
      baseline's black-box success near 40% on normal targets; see the eps
      sweep in docs/mini.md.
    alpha: step size; ``None`` means ``eps / num_iter`` (the paper's 1.6 for
      16 with 10 iterations).
    num_iter: iterations.
    momentum: momentum decay.
    ens: FIA's N.
    keep_prob_normal: FIA's keep probability vs normal targets (paper 0.7).
    keep_prob_defence: vs defended targets (paper 0.9).
    tkern_size: TI kernel. The paper's 15/299 scaled to 28 pixels is 1.4,
      which would switch TI off; objects fill the frame here, so 5 pixels
      is about a fifth of an object (15 pixels is about a tenth of a typical
      ImageNet object). Chosen, not tuned.
    methods: attack methods.
    method_settings: ``{method: AttackConfig fields}`` for the methods that
      need their own (default :data:`METHOD_SETTINGS`); methods not in
      :attr:`methods` are ignored.
    sources: source model names (default: all normal models).
    targets: target names (default: all normal and defence models).
    num_images: images of the committed subset to use (first N).
    batch_size: images per attack call.
    seed: seed of all attack randomness.
    model_dir: where the mini models' weights are.
    subset_path: the committed Fashion-MNIST subset (``.npz``).
  """
  eps: float = 24.0
  alpha: Optional[float] = None
  num_iter: int = 10
  momentum: float = 1.0
  ens: int = 30
  keep_prob_normal: float = 0.7
  keep_prob_defence: float = 0.9
  tkern_size: int = 5
  methods: Tuple[str, ...] = METHODS
  method_settings: Mapping[str, dict] = dataclasses.field(
      default_factory=lambda: dict(METHOD_SETTINGS))
  sources: Optional[Tuple[str, ...]] = None
  targets: Optional[Tuple[str, ...]] = None
  num_images: Optional[int] = None
  batch_size: int = 500
  seed: int = 0
  model_dir: str = str(zoo.MODEL_DIR)
  subset_path: str = str(pathlib.Path('data') / 'fashion_mnist' /
                         fashion_mnist.SUBSET_FILE)

  def source_names(self):
    return tuple(self.sources or [s.name for s in zoo.specs('normal')])

  def target_names(self):
    return tuple(self.targets or [s.name for s in zoo.specs('normal')] +
                 [s.name for s in zoo.specs('defence')])

  def settings(self):
    """The :class:`fia_tf.AttackConfig` fields shared by every set."""
    return dict(eps=float(self.eps),
                alpha=float(self.alpha if self.alpha is not None else
                            self.eps / self.num_iter),
                num_iter=self.num_iter, momentum=self.momentum,
                ens=self.ens, tkern_size=self.tkern_size, seed=self.seed)

  def groups(self):
    """``{target: group}`` (the defences are the ``defended`` group)."""
    return {t: _GROUP_OF_ROLE[zoo.spec(t).role] for t in self.target_names()}

  def keep_prob(self):
    return {'normal': self.keep_prob_normal,
            'defended': self.keep_prob_defence}


def target(name, model):
  """A mini model as an evaluation target (batches of 1000 images)."""
  return targets_lib.KerasTarget(model, preprocessing.unit, name=name,
                                 batch_size=1000)


def plan(config, methods=None, layers=None):
  """The attack sets of a run of ``config`` (``methods`` overrides)."""
  groups = config.groups()
  present = tuple(g for g in transfer.GROUPS if g in groups.values())
  methods = list(methods or config.methods)
  return transfer.plan_sets(config.source_names(), methods,
                            config.settings(), groups=present,
                            keep_prob=config.keep_prob(), layers=layers,
                            method_settings={
                                m: s for m, s in config.method_settings.items()
                                if m in methods})


def run_transfer(config=DemoConfig(), log=print, models=None, sets=None):
  """Attacks with every source and method, evaluates on every target.

  Args:
    config: a :class:`DemoConfig`.
    log: line logger (progress with rate and ETA, per-cell results).
    models: optional ``{name: keras.Model}`` already loaded.
    sets: optional :class:`fia_tf.evaluation.AttackSet` list (default:
      :func:`plan`).

  Returns:
    ``(result, data)``: the :class:`fia_tf.evaluation.TransferResult` and
    ``{'images', 'labels', 'ids', 'models'}``.
  """
  images, labels, ids = fashion_mnist.load_subset(config.subset_path,
                                                  limit=config.num_images)
  sources, targets = config.source_names(), config.target_names()
  models = dict(models or {})
  for name in sorted(set(sources) | set(targets)):
    if name not in models:
      models[name] = zoo.load(name, config.model_dir)
  groups = config.groups()
  by_group = {g: [target(t, models[t]) for t in targets if groups[t] == g]
              for g in transfer.GROUPS}
  result = transfer.run_in_memory(
      images, labels, ids,
      {s: zoo.source(s, models[s]) for s in sources},
      sets if sets is not None else plan(config), by_group,
      batch_size=config.batch_size, log=log or (lambda line: None))
  return result, {'images': images, 'labels': labels, 'ids': ids,
                  'models': models}


def demo_tables(rows, config, methods=None):
  """``{metric: Table}`` in the paper's layout with black-box averages."""
  return {metric: tables.transfer_table(
      rows, metric, sources=config.source_names(),
      methods=list(methods or config.methods),
      targets=config.target_names(), groups=config.groups(),
      title=f'{tables.TITLES[metric]}, eps {config.eps:g}/255',
      averages=AVERAGES) for metric, _ in METRICS}


def method_means(demo_tables_, methods):
  """``{short metric: {method: {group: percent}}}`` over sources."""
  return {short: {m: {g: 100 * v for g, v in values.items()} for m, values in
                  tables.method_means(demo_tables_[metric], methods,
                                      AVERAGES).items()}
          for metric, short in METRICS}


def comparison(means, methods, metric='changed'):
  """Each non-baseline method's margin over MIM and over the best
  baseline (:data:`BASELINES`) present, in points."""
  m = means[metric]
  feature = [x for x in methods if x not in BASELINES]
  baselines = [x for x in methods if x in BASELINES]
  out = {}
  for fia in feature:
    for group in AVERAGES:
      best = max(baselines, key=lambda b: m[b][group]) if baselines else None
      out[f'{fia} {group}'] = {
          'fia': m[fia][group],
          'vs_MIM': m[fia][group] - m['MIM'][group] if 'MIM' in m else None,
          'best_baseline': best,
          'vs_best_baseline': m[fia][group] - m[best][group] if best else None,
      }
  return out


def markdown_means(means, methods):
  """The averages table (the README's): changed / wrong x normal / defended."""
  lines = ['| method | changed: normal (bb) | changed: defence | '
           'wrong: normal (bb) | wrong: defence | wrong among clean-correct: '
           'normal (bb) | wrong among clean-correct: defence |',
           '|---|---|---|---|---|---|---|']
  for method in methods:
    cells = [f'{means[short][method][g]:.1f}'
             for _, short in METRICS for g in AVERAGES]
    lines.append(f'| {method} | ' + ' | '.join(cells) + ' |')
  return '\n'.join(lines)


# -- figures -------------------------------------------------------------------


def grad_cam(model, layer_name, images, classes):
  """Class attention maps, ``[B, H, W]`` in [0, 1].

  The HiResCAM form of Grad-CAM (Draelos & Carin, 2020): ReLU of the
  channel sum of gradient x activation at ``layer_name``, for the class
  logit, resized to the input and normalised per image. Plain Grad-CAM
  averages the gradient over space first, which for the flatten heads of
  the VGG, Inception and MobileNet minis mostly cancels to blank maps; with
  global-pooling heads (the ResNets) the two agree up to a constant.
  """
  both = keras.Model(model.inputs, [model.get_layer(layer_name).output,
                                    model.outputs[0]])
  x = preprocessing.unit(tf.constant(images, tf.float32))
  with tf.GradientTape() as tape:
    features, logits = both(x, training=False)
    target_logit = tf.reduce_sum(logits * tf.one_hot(classes,
                                                     logits.shape[-1]))
  grads = tape.gradient(target_logit, features)
  cam = tf.nn.relu(tf.reduce_sum(grads * features, -1, keepdims=True))
  cam = tf.image.resize(cam, images.shape[1:3], method='bilinear')[..., 0]
  cam = cam.numpy()
  peak = cam.reshape(len(cam), -1).max(1)[:, None, None]
  return cam / np.where(peak > 0, peak, 1)


def examples_figure(path, images, labels, adversarial, source, methods,
                    count=8):
  """Clean images, each method's adversarial images and their
  perturbation (x4 around grey), one row each, ``count`` images wide."""
  count = min(count, len(images))
  rows, names = [list(images[:count])], ['clean']
  for method in methods:
    adv = adversarial.get(method)
    if adv is None:
      continue
    rows.append(list(adv[:count]))
    names.append(method)
    rows.append(list(128 + 4 * (adv[:count] - images[:count])))
    names.append(f'{method}: x4 diff')
  columns = [fashion_mnist.CLASS_NAMES[l] for l in labels[:count]]
  return plots.image_grid(path, rows, names, columns,
                          title=f'source {source}: clean vs adversarial')


def attention_figure(path, images, labels, adversarial, models, source,
                     other, count=6):
  """The analogue of the paper's Figure 1: Grad-CAM of the true class on
  the source and on another model, for clean, MIM and FIA images."""
  count = min(count, len(images))
  kinds = [('clean', images)] + [(m, adversarial[m]) for m in ('MIM', 'FIA')
                                 if m in adversarial]
  cells, maps, columns = [], [], []
  for model_name in (source, other):
    layer = zoo.spec(model_name).cam_layer
    for kind, x in kinds:
      cells.append(x[:count])
      maps.append(grad_cam(models[model_name], layer, x[:count],
                           labels[:count]))
      columns.append(f'{"source" if model_name == source else "target"}: '
                     f'{kind}')
  rows = [[c[i] for c in cells] for i in range(count)]
  map_rows = [[m[i] for m in maps] for i in range(count)]
  names = [fashion_mnist.CLASS_NAMES[l] for l in labels[:count]]
  return plots.attention_grid(
      path, rows, map_rows, names, columns,
      title=f'Grad-CAM (HiResCAM) of the true class: source {source}, '
      f'target {other}')


def _normal_sets(result, sets, source):
  """``{method: adversarial images}`` of ``source``'s sets made for normal
  targets."""
  out = {}
  for attack_set in sets:
    if attack_set.source == source and 'normal' in attack_set.groups:
      out[attack_set.method] = result.adversarial[attack_set.name]
  return out


def write_outputs(result, data, config, out_dir, sets, log=print,
                  figures=True):
  """Writes the tables, rows, summary and figures atomically.

  Returns:
    The summary dict (tables per metric, per-method means, FIA margins).
  """
  out_dir = pathlib.Path(out_dir)
  sources, targets = config.source_names(), config.target_names()
  methods = list(config.methods)
  rows = result.rows
  made = demo_tables(rows, config)
  means = method_means(made, methods)
  clean = {t: 100 * transfer.select(rows, target=t)[0]['clean_accuracy']
           for t in targets}
  n = len(data['images'])
  summary = {
      'config': dataclasses.asdict(config), 'num_images': n,
      'clean_accuracy': clean, 'method_means': means,
      'fia_margins': {short: comparison(means, methods, short)
                      for _, short in METRICS},
      'attack_seconds': result.attack_seconds, 'seconds': result.seconds,
      **records.provenance(),
  }
  md = [f'# Mini transfer table (Fashion-MNIST, {n} test images, '
        f'eps {config.eps:g}/255)', '',
        'Clean accuracy (%): ' + ', '.join(f'{t} {a:.1f}'
                                           for t, a in clean.items()), '',
        '## Averages over sources', '', markdown_means(means, methods), '']
  for metric, short in METRICS:
    md += [f'## Metric: {short}', '', tables.to_markdown(made[metric]), '']
    tables.write_table(made[metric], out_dir, f'table_{short}',
                       heatmap=False)
  md += ['## Per set and target', '', tables.rows_markdown(rows)]
  files.atomic_write_text(out_dir / 'results.md', '\n'.join(md))
  files.atomic_write_text(out_dir / 'evaluation.csv', tables.rows_csv(rows))
  files.atomic_write_json(out_dir / 'summary.json', summary)
  if figures and plots.available():
    plots.heatmaps(out_dir / 'heatmap.png', [
        (made[m].title, 100 * made[m].values, made[m].marks)
        for m, _ in METRICS[:2]], made['success_changed'].row_labels,
                   made['success_changed'].col_labels)
    first = sources[0]
    adversarial = _normal_sets(result, sets, first)
    examples_figure(out_dir / 'examples.png', data['images'], data['labels'],
                    adversarial, first, methods)
    if 'MIM' in adversarial and 'FIA' in adversarial:
      other = next((t for t in targets if t != first and
                    zoo.spec(t).role == 'normal'), first)
      attention_figure(out_dir / 'attention.png', data['images'],
                       data['labels'], adversarial, data['models'], first,
                       other)
  if log:
    log('\n'.join(md[:md.index('## Per set and target')]))
    log(f'wrote {out_dir}: results.md, table_*.md/.csv/.json, '
        'evaluation.csv, summary.json' +
        (', heatmap.png, examples.png, attention.png' if figures else ''))
  return summary


def run_demo(config=DemoConfig(), out_dir=pathlib.Path('results') / 'mini',
             log=print, figures=True):
  """The whole demo: transfer table, files, figures. Returns the summary."""
  start = time.time()
  sets = plan(config)
  result, data = run_transfer(config, log, sets=sets)
  summary = write_outputs(result, data, config, out_dir, sets, log, figures)
  summary['total_seconds'] = time.time() - start
  files.atomic_write_json(pathlib.Path(out_dir) / 'summary.json', summary)
  if log:
    log(f'demo finished in {summary["total_seconds"]:.0f} s (attacks '
        f'{sum(result.attack_seconds.values()):.0f} s)')
  return summary


def run_sweep(config=DemoConfig(), eps_values=(4, 8, 16, 24, 32),
              methods=('MIM', 'TIM', 'FIA'),
              out_dir=pathlib.Path('results') / 'mini', log=print):
  """Success vs eps (alpha = eps / num_iter) for a few methods.

  Writes ``eps_sweep.md``, ``eps_sweep.csv`` and ``eps_sweep.png``.

  Returns:
    ``{short metric: {method: {group: [percent per eps]}}}``.
  """
  out_dir = pathlib.Path(out_dir)
  result = {short: {m: {g: [] for g in AVERAGES} for m in methods}
            for _, short in METRICS}
  all_rows = []
  models = None
  for eps in eps_values:
    cfg = dataclasses.replace(config, eps=float(eps), methods=tuple(methods))
    if log:
      log(f'--- eps {eps:g} ---')
    run, data = run_transfer(cfg, log, models=models)
    models = data['models']
    for row in run.rows:
      row['eps'] = eps
    all_rows += run.rows
    means = method_means(demo_tables(run.rows, cfg), list(methods))
    for _, short in METRICS:
      for method in methods:
        for group in AVERAGES:
          result[short][method][group].append(means[short][method][group])
  lines = ['# Success (%) vs eps (black-box averages over sources)', '',
           '| metric | method | targets | ' +
           ' | '.join(f'eps {e:g}' for e in eps_values) + ' |',
           '|---|---|---|' + '---|' * len(eps_values)]
  for _, short in METRICS:
    for method in methods:
      for group in AVERAGES:
        lines.append(f'| {short} | {method} | {group} | ' + ' | '.join(
            f'{v:.1f}' for v in result[short][method][group]) + ' |')
  files.atomic_write_text(out_dir / 'eps_sweep.md', '\n'.join(lines))
  files.atomic_write_text(out_dir / 'eps_sweep.csv',
                          tables.rows_csv(all_rows))
  series, styles = {}, {}
  for method in methods:
    for group in AVERAGES:
      label = f'{method}, {group} targets'
      series[label] = result['changed'][method][group]
      styles[label] = {'linestyle': '-' if group == 'normal' else '--'}
  if plots.available():
    plots.line_plot(out_dir / 'eps_sweep.png', list(eps_values), series,
                    title='Black-box success (prediction changed) vs eps',
                    xlabel='eps (pixel levels of 255)',
                    ylabel='success rate (%)', styles=styles)
  if log:
    log('\n'.join(lines))
    log(f'wrote {out_dir}/eps_sweep.md, eps_sweep.csv, eps_sweep.png')
  return result
