"""The mini-zoo demo: FIA against its baselines, transfer table and figures.

Every normal model of the zoo attacks the committed Fashion-MNIST subset with
each method; the adversarial images are evaluated on every model (normal and
defended). Two success rates are reported per (source, method, target):

* ``changed``: the target's prediction differs from its prediction on the
  clean image (the original code's metric);
* ``wrong``: the target's prediction differs from the true label.

Black-box averages exclude the source itself. As in the paper, FIA's keep
probability is 0.7 for the examples evaluated on normal targets and 0.9 for
those evaluated on defended targets (two runs of FIA-based methods).
"""

import csv
import dataclasses
import json
import pathlib
import time
from typing import Optional, Tuple

import numpy as np
import tensorflow as tf

import fia_tf
from fia_tf import preprocessing
from fia_tf.mini import data as data_lib
from fia_tf.mini import models as zoo
from fia_tf.mini import png

REPO_ROOT = zoo.REPO_ROOT
RESULTS_DIR = REPO_ROOT / 'results' / 'mini'
METHODS = ('MIM', 'DIM', 'TIM', 'PIM', 'NRDM', 'FDA', 'FIA', 'FIA+PIDIM')
METRICS = ('changed', 'wrong')
# The sweep runs 5 budgets; a quarter of the subset keeps it to minutes.
SWEEP_IMAGES = 250
# Measured relative cost of one attack per image (FIA's masked copies only
# backpropagate down to the feature layer), for ETAs.
_COST = {'ce': 10, 'nrdm': 6, 'fda': 6, 'fia': 12}


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
    sources: source model names (default: all normal models).
    targets: target names (default: all normal and defence models).
    num_images: images of the committed subset to use (first N).
    batch_size: images per attack call.
    seed: seed of all attack randomness.
    model_dir: where the zoo's weights are.
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
  sources: Optional[Tuple[str, ...]] = None
  targets: Optional[Tuple[str, ...]] = None
  num_images: Optional[int] = None
  batch_size: int = 500
  seed: int = 0
  model_dir: str = str(zoo.MODEL_DIR)

  def source_names(self):
    return tuple(self.sources or [s.name for s in zoo.specs('normal')])

  def target_names(self):
    return tuple(self.targets or [s.name for s in zoo.specs('normal')] +
                 [s.name for s in zoo.specs('defence')])

  def attack_config(self, method, keep_prob):
    return fia_tf.AttackConfig(
        method=method, eps=float(self.eps),
        alpha=float(self.alpha if self.alpha is not None else
                    self.eps / self.num_iter),
        num_iter=self.num_iter, momentum=self.momentum, ens=self.ens,
        keep_prob=keep_prob, tkern_size=self.tkern_size, seed=self.seed)


class Progress:
  """Prints one line per finished job with rate and ETA (by weighted cost)."""

  def __init__(self, total_cost, log=print):
    self.total, self.done, self.log = total_cost, 0.0, log
    self.start = time.time()

  def step(self, cost, label, images, seconds):
    self.done += cost
    elapsed = time.time() - self.start
    eta = elapsed / max(self.done, 1e-9) * (self.total - self.done)
    if self.log:
      self.log(f'[{100 * self.done / self.total:5.1f}%] {label}: {images} '
               f'images in {seconds:.1f} s ({images / max(seconds, 1e-9):.0f}'
               f' img/s); elapsed {_mmss(elapsed)}, ETA {_mmss(eta)}')


def _mmss(seconds):
  seconds = int(round(seconds))
  return f'{seconds // 60}:{seconds % 60:02d}'


def predict(model, images, batch_size=1000):
  """Arg-max predictions of a zoo model on 0..255 pixel images."""
  out = []
  for start in range(0, len(images), batch_size):
    x = tf.constant(images[start:start + batch_size], tf.float32)
    out.append(np.argmax(model(preprocessing.unit(x), training=False), -1))
  return np.concatenate(out).astype(np.int32)


def load_models(names, model_dir):
  return {name: zoo.load(name, model_dir) for name in names}


def attack_images(source, config, images, labels, ids, batch_size):
  """Runs one attack over all images in batches; returns float32 pixels."""
  attack = fia_tf.Attack(source, config)
  out = []
  for start in range(0, len(images), batch_size):
    sl = slice(start, start + batch_size)
    out.append(attack(images[sl], labels[sl], ids=ids[sl]).numpy())
  return np.concatenate(out)


def _keep_probs(config, targets):
  """The FIA keep probabilities needed and which targets each serves."""
  normal = [t for t in targets if zoo.spec(t).role != 'defence']
  defence = [t for t in targets if zoo.spec(t).role == 'defence']
  plan = []
  if normal:
    plan.append((config.keep_prob_normal, normal))
  if defence:
    if config.keep_prob_defence == config.keep_prob_normal and normal:
      plan[0] = (config.keep_prob_normal, normal + defence)
    else:
      plan.append((config.keep_prob_defence, defence))
  return plan


def run_transfer(config=DemoConfig(), log=print, keep_images=None):
  """Attacks with every source and method, evaluates on every target.

  Args:
    config: a :class:`DemoConfig`.
    log: line logger (progress, rates, ETA).
    keep_images: optional ``(source, method)`` pairs whose adversarial
      images (keep probability for normal targets) are returned, for figures.

  Returns:
    ``(rows, extras)``: ``rows`` is a list of dicts with keys source,
    method, target, role, keep_prob, changed, wrong (percentages);
    ``extras`` holds the images, labels, clean predictions, kept adversarial
    images, models and timing.
  """
  images, labels, ids = data_lib.load_subset(limit=config.num_images)
  sources, targets = config.source_names(), config.target_names()
  models = load_models(sorted(set(sources) | set(targets)), config.model_dir)
  clean_pred = {name: predict(models[name], images) for name in targets}
  for name in targets:
    acc = 100 * np.mean(clean_pred[name] == labels)
    if log:
      log(f'{name}: clean accuracy on {len(images)} images {acc:.1f}%')
  plan = _keep_probs(config, targets)
  jobs = []
  for source in sources:
    for method in config.methods:
      parts = fia_tf.parse_method(method)
      if parts.objective == 'fia':
        jobs.extend((source, method, kp, group) for kp, group in plan)
      else:
        jobs.append((source, method, None, list(targets)))
  cost = lambda job: _COST[fia_tf.parse_method(job[1]).objective]
  progress = Progress(sum(cost(j) for j in jobs) * len(images), log)
  rows, kept = [], {}
  start_all = time.time()
  for source_name, method, keep_prob, group in jobs:
    source = zoo.source(source_name, models[source_name])
    attack_config = config.attack_config(
        method, keep_prob if keep_prob is not None else
        config.keep_prob_normal)
    start = time.time()
    adv = attack_images(source, attack_config, images, labels, ids,
                        config.batch_size)
    seconds = time.time() - start
    if keep_images and (source_name, method) in keep_images and (
        keep_prob in (None, config.keep_prob_normal)):
      kept[(source_name, method)] = adv
    for target in group:
      pred = predict(models[target], adv)
      rows.append({
          'source': source_name, 'method': method, 'target': target,
          'role': zoo.spec(target).role,
          'keep_prob': keep_prob if keep_prob is not None else '',
          'changed': 100 * float(np.mean(pred != clean_pred[target])),
          'wrong': 100 * float(np.mean(pred != labels)),
      })
    kp = f' (keep {keep_prob})' if keep_prob is not None else ''
    progress.step(cost((source_name, method)) * len(images),
                  f'{source_name} {method}{kp}', len(images), seconds)
  extras = {'images': images, 'labels': labels, 'ids': ids,
            'clean_pred': clean_pred, 'adversarial': kept, 'models': models,
            'attack_seconds': time.time() - start_all}
  return rows, extras


def summarize(rows, sources, methods, targets, metric):
  """Per (source, method): rates per target and black-box averages.

  Returns:
    list of dicts: source, method, one key per target, ``avg_normal_bb``
    (normal targets other than the source) and ``avg_defence``.
  """
  table = []
  index = {(r['source'], r['method'], r['target']): r[metric] for r in rows}
  for source in sources:
    for method in methods:
      row = {'source': source, 'method': method}
      for target in targets:
        row[target] = index.get((source, method, target), float('nan'))
      normal = [row[t] for t in targets
                if zoo.spec(t).role == 'normal' and t != source]
      defence = [row[t] for t in targets if zoo.spec(t).role == 'defence']
      row['avg_normal_bb'] = float(np.mean(normal)) if normal else float(
          'nan')
      row['avg_defence'] = float(np.mean(defence)) if defence else float(
          'nan')
      table.append(row)
  return table


def method_means(table, methods):
  """Per method: black-box averages over all sources."""
  out = {}
  for method in methods:
    mine = [r for r in table if r['method'] == method]
    out[method] = {
        'avg_normal_bb': float(np.mean([r['avg_normal_bb'] for r in mine])),
        'avg_defence': float(np.mean([r['avg_defence'] for r in mine])),
    }
  return out


def _fmt(value, white_box=False):
  if value != value:  # NaN
    return '-'
  return f'{value:.1f}' + ('*' if white_box else '')


def markdown_table(table, targets, metric):
  """The transfer table as Markdown; white-box cells are starred."""
  head = (['source', 'method'] + list(targets) +
          ['avg normal (black-box)', 'avg defence'])
  lines = [f'Success rate (%), metric `{metric}`. * = white-box '
           '(source = target).', '',
           '| ' + ' | '.join(head) + ' |',
           '|' + '---|' * len(head)]
  for row in table:
    cells = [row['source'], row['method']]
    cells += [_fmt(row[t], t == row['source']) for t in targets]
    cells += [_fmt(row['avg_normal_bb']), _fmt(row['avg_defence'])]
    lines.append('| ' + ' | '.join(cells) + ' |')
  return '\n'.join(lines)


def markdown_means(means_by_metric, methods):
  lines = ['| method | changed: normal (bb) | changed: defence | '
           'wrong: normal (bb) | wrong: defence |', '|---|---|---|---|---|']
  for method in methods:
    c, w = means_by_metric['changed'][method], means_by_metric['wrong'][method]
    lines.append(f'| {method} | {c["avg_normal_bb"]:.1f} | '
                 f'{c["avg_defence"]:.1f} | {w["avg_normal_bb"]:.1f} | '
                 f'{w["avg_defence"]:.1f} |')
  return '\n'.join(lines)


def comparison(means, methods, metric='changed'):
  """FIA's margin over MIM and over the best other baseline, in points."""
  m = means[metric]
  baselines = [x for x in methods if fia_tf.parse_method(x).objective != 'fia'
               and x in m]
  out = {}
  for fia in [x for x in methods if x in ('FIA', 'FIA+PIDIM')]:
    for key in ('avg_normal_bb', 'avg_defence'):
      best = max(baselines, key=lambda b: m[b][key]) if baselines else None
      out[f'{fia} {key}'] = {
          'fia': m[fia][key],
          'vs_MIM': m[fia][key] - m['MIM'][key] if 'MIM' in m else None,
          'best_baseline': best,
          'vs_best_baseline': m[fia][key] - m[best][key] if best else None,
      }
  return out


def write_csv(path, rows):
  fields = ['source', 'method', 'target', 'role', 'keep_prob', 'changed',
            'wrong']
  with open(path, 'w', newline='') as f:
    writer = csv.DictWriter(f, fields)
    writer.writeheader()
    for row in rows:
      writer.writerow({k: (f'{row[k]:.2f}' if k in METRICS else row[k])
                       for k in fields})


def heatmap_image(table, targets, metric, title):
  labels = [f'{r["source"]} {r["method"]}' for r in table]
  cols = list(targets) + ['AVG BB', 'AVG DEF']
  matrix = np.array([[r[t] for t in targets] +
                     [r['avg_normal_bb'], r['avg_defence']] for r in table])
  return png.heatmap(matrix, labels, cols, title=title, cell=(20, 84),
                     scale=2)


def grid_image(images, labels, adversarial, source, methods, count=8):
  """Rows: clean, then each method's adversarial images; a row of
  perturbations (x4, grey = 0) under each, so they can be seen."""
  rows, names = [png.gray_to_rgb(images[:count])], ['clean']
  for method in methods:
    adv = adversarial.get((source, method))
    if adv is None:
      continue
    rows.append(png.gray_to_rgb(adv[:count]))
    names.append(method)
    rows.append(png.gray_to_rgb(128 + 4 * (adv[:count] - images[:count])))
    names.append('  x4 diff')
  cols = [data_lib.CLASS_NAMES[l][:7] for l in labels[:count]]
  return png.tile([list(r) for r in rows], names, cols, factor=3,
                  title=f'source {source}: clean vs adversarial')


def grad_cam(model, layer_name, images, classes):
  """Class attention maps, ``[B, 28, 28]`` in [0, 1].

  The HiResCAM form of Grad-CAM (Draelos & Carin, 2020): ReLU of the
  channel sum of gradient x activation at ``layer_name``, for the class
  logit, resized to the input and normalised per image. Plain Grad-CAM
  averages the gradient over space first, which for the flatten heads of
  the VGG, Inception and MobileNet minis mostly cancels to blank maps; with
  global-pooling heads (the ResNets) the two agree up to a constant.
  """
  import keras  # pylint: disable=g-import-not-at-top
  both = keras.Model(model.inputs, [model.get_layer(layer_name).output,
                                    model.outputs[0]])
  x = preprocessing.unit(tf.constant(images, tf.float32))
  with tf.GradientTape() as tape:
    features, logits = both(x, training=False)
    target = tf.reduce_sum(logits * tf.one_hot(classes, logits.shape[-1]))
  grads = tape.gradient(target, features)
  cam = tf.nn.relu(tf.reduce_sum(grads * features, -1, keepdims=True))
  cam = tf.image.resize(cam, images.shape[1:3], method='bilinear')[..., 0]
  cam = cam.numpy()
  peak = cam.reshape(len(cam), -1).max(1)[:, None, None]
  return cam / np.where(peak > 0, peak, 1)


def attention_image(images, labels, adversarial, models, source, target,
                    count=6):
  """The analogue of the paper's Figure 1: Grad-CAM of the true class on the
  source and on a target for clean, MIM and FIA images."""
  count = min(count, len(images))
  columns, tiles = ['image'], [png.gray_to_rgb(images[:count])]
  for model_name in (source, target):
    layer = zoo.spec(model_name).cam_layer
    for kind in ('clean', 'MIM', 'FIA'):
      x = images[:count] if kind == 'clean' else adversarial[(source,
                                                              kind)][:count]
      cam = grad_cam(models[model_name], layer, x, labels[:count])
      heat = png.colormap(cam, 0, 1, name='jet').astype(np.float64)
      gray = png.gray_to_rgb(x).astype(np.float64)
      tiles.append((0.5 * heat + 0.5 * gray).round().astype(np.uint8))
      prefix = 'SRC' if model_name == source else 'TGT'
      columns.append(f'{prefix} {kind}')
  rows = [[t[i] for t in tiles] for i in range(count)]
  names = [data_lib.CLASS_NAMES[l][:8] for l in labels[:count]]
  return png.tile(rows, names, columns, factor=3,
                  title=f'Grad-CAM (HiResCAM) of the true class: '
                  f'SRC = {source}, TGT = {target}')


def write_outputs(rows, extras, config, out_dir=RESULTS_DIR, log=print,
                  figures=True):
  """Writes table.md / table.csv / summary.json and the PNGs.

  Returns:
    The summary dict (tables per metric, per-method means, FIA margins).
  """
  out_dir = pathlib.Path(out_dir)
  out_dir.mkdir(parents=True, exist_ok=True)
  sources, targets = config.source_names(), config.target_names()
  methods = list(config.methods)
  tables = {m: summarize(rows, sources, methods, targets, m) for m in METRICS}
  means = {m: method_means(tables[m], methods) for m in METRICS}
  n = len(extras['images'])
  clean = {t: 100 * float(np.mean(extras['clean_pred'][t] ==
                                  extras['labels'])) for t in targets}
  summary = {
      'config': dataclasses.asdict(config), 'num_images': n,
      'clean_accuracy': clean, 'method_means': means,
      'fia_margins': {m: comparison(means, methods, m) for m in METRICS},
      'attack_seconds': extras['attack_seconds'],
  }
  md = [f'# Mini-zoo transfer table (Fashion-MNIST, {n} test images, '
        f'eps {config.eps:g}/255)', '',
        'Clean accuracy (%): ' + ', '.join(f'{t} {a:.1f}'
                                           for t, a in clean.items()), '',
        '## Averages over sources', '', markdown_means(means, methods), '']
  for metric in METRICS:
    md += [f'## Metric: {metric}', '',
           markdown_table(tables[metric], targets, metric), '']
  (out_dir / 'table.md').write_text('\n'.join(md))
  write_csv(out_dir / 'table.csv', rows)
  (out_dir / 'summary.json').write_text(json.dumps(summary, indent=1))
  if figures:
    png.save(out_dir / 'heatmap.png', png.vstack([
        heatmap_image(tables[m], targets, m,
                      f'success rate (%), metric {m}, eps {config.eps:g}')
        for m in METRICS]))
    first = sources[0]
    png.save(out_dir / 'examples.png', grid_image(
        extras['images'], extras['labels'], extras['adversarial'], first,
        methods))
    if (first, 'MIM') in extras['adversarial'] and (
        first, 'FIA') in extras['adversarial']:
      target = next((t for t in targets if t != first and
                     zoo.spec(t).role == 'normal'), first)
      png.save(out_dir / 'attention.png', attention_image(
          extras['images'], extras['labels'], extras['adversarial'],
          extras['models'], first, target))
  if log:
    log('\n'.join(md))
    log(f'wrote {out_dir}/table.md, table.csv, summary.json' +
        (', heatmap.png, examples.png, attention.png' if figures else ''))
  return summary


def run_demo(config=DemoConfig(), out_dir=RESULTS_DIR, log=print,
             figures=True):
  """The whole demo: transfer table, files, figures. Returns the summary."""
  start = time.time()
  first = config.source_names()[0]
  keep = [(first, m) for m in config.methods]
  rows, extras = run_transfer(config, log, keep_images=keep)
  summary = write_outputs(rows, extras, config, out_dir, log, figures)
  summary['total_seconds'] = time.time() - start
  if log:
    log(f'demo finished in {_mmss(summary["total_seconds"])} '
        f'(attacks {_mmss(extras["attack_seconds"])})')
  return summary


def run_sweep(config=DemoConfig(), eps_values=(4, 8, 16, 24, 32),
              methods=('MIM', 'TIM', 'FIA'), out_dir=RESULTS_DIR,
              log=print):
  """Success vs eps (alpha = eps / num_iter) for a few methods.

  Writes ``eps_sweep.md``, ``eps_sweep.csv`` and ``eps_sweep.png``.

  Returns:
    ``{metric: {method: {'normal': [...], 'defence': [...]}}}`` per eps.
  """
  out_dir = pathlib.Path(out_dir)
  out_dir.mkdir(parents=True, exist_ok=True)
  result = {m: {meth: {'normal': [], 'defence': []} for meth in methods}
            for m in METRICS}
  all_rows = []
  for eps in eps_values:
    cfg = dataclasses.replace(config, eps=float(eps), methods=tuple(methods))
    if log:
      log(f'--- eps {eps:g} ---')
    rows, _ = run_transfer(cfg, log)
    for row in rows:
      row['eps'] = eps
    all_rows += rows
    for metric in METRICS:
      table = summarize(rows, cfg.source_names(), methods,
                        cfg.target_names(), metric)
      means = method_means(table, methods)
      for meth in methods:
        result[metric][meth]['normal'].append(means[meth]['avg_normal_bb'])
        result[metric][meth]['defence'].append(means[meth]['avg_defence'])
  lines = ['# Success (%) vs eps (black-box averages over sources)', '',
           '| metric | method | targets | ' +
           ' | '.join(f'eps {e:g}' for e in eps_values) + ' |',
           '|---|---|---|' + '---|' * len(eps_values)]
  for metric in METRICS:
    for meth in methods:
      for kind in ('normal', 'defence'):
        lines.append(f'| {metric} | {meth} | {kind} | ' + ' | '.join(
            f'{v:.1f}' for v in result[metric][meth][kind]) + ' |')
  (out_dir / 'eps_sweep.md').write_text('\n'.join(lines))
  with open(out_dir / 'eps_sweep.csv', 'w', newline='') as f:
    fields = ['eps', 'source', 'method', 'target', 'role', 'keep_prob',
              'changed', 'wrong']
    writer = csv.DictWriter(f, fields)
    writer.writeheader()
    for row in all_rows:
      writer.writerow({k: row[k] for k in fields})
  series = {}
  for meth in methods:
    for kind in ('normal', 'defence'):
      series[f'{meth} {kind[:3]}'] = result['changed'][meth][kind]
  png.save(out_dir / 'eps_sweep.png', png.line_plot(
      eps_values, series, title='black-box success (changed) vs eps',
      xlabel='eps (/255)', ylabel='%'))
  if log:
    log('\n'.join(lines))
    log(f'wrote {out_dir}/eps_sweep.md, eps_sweep.csv, eps_sweep.png')
  return result
