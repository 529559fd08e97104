"""FIA ablations on the mini zoo: feature-layer depth, N and drop probability.

For one source model, FIA is run with one setting changed at a time (the
others at the demo's defaults) and evaluated on every other model; the
black-box averages over normal and over defended targets are plotted against
the setting, with MIM's as a reference line (the analogue of the paper's
Figures 4-6).
"""

import csv
import dataclasses
import pathlib
import time

import numpy as np

import fia_tf

from fia_tf.mini import data as data_lib
from fia_tf.mini import demo
from fia_tf.mini import models as zoo
from fia_tf.mini import png


@dataclasses.dataclass(frozen=True)
class AblationConfig:
  """What to vary.

  Attributes:
    source: the source model.
    layers: feature layers, shallow to deep (default: the spec's list).
    ens_values: FIA's N values (0 = the clean image's gradient only).
    keep_values: FIA's keep probabilities (drop probability = 1 - keep).
    settings: the fixed settings (eps, iterations, images, ...).
  """
  source: str = 'vgg'
  layers: tuple = None
  ens_values: tuple = (0, 5, 10, 20, 30, 50)
  keep_values: tuple = (0.9, 0.8, 0.7, 0.6, 0.5, 0.4)
  settings: demo.DemoConfig = demo.DemoConfig()


def _evaluate(adv, labels, clean_pred, models, source):
  out = {}
  for metric in demo.METRICS:
    normal, defence = [], []
    for name, model in models.items():
      if name == source:
        continue
      pred = demo.predict(model, adv)
      ref = clean_pred[name] if metric == 'changed' else labels
      rate = 100 * float(np.mean(pred != ref))
      (defence if zoo.spec(name).role == 'defence' else normal).append(rate)
    out[metric] = {'normal': float(np.mean(normal)),
                   'defence': float(np.mean(defence)) if defence else
                              float('nan')}
  return out


def run_ablation(config=AblationConfig(), out_dir=demo.RESULTS_DIR,
                 log=print):
  """Runs the three sweeps; writes ablation.md / .csv and three PNGs.

  Returns:
    ``{sweep: [(value, {metric: {'normal': .., 'defence': ..}}), ...]}``
    plus ``'MIM'``: the reference rates.
  """
  out_dir = pathlib.Path(out_dir)
  out_dir.mkdir(parents=True, exist_ok=True)
  dc = config.settings
  images, labels, ids = data_lib.load_subset(limit=dc.num_images)
  targets = dc.target_names()
  models = demo.load_models(sorted(set(targets) | {config.source}),
                            dc.model_dir)
  clean_pred = {n: demo.predict(m, images) for n, m in models.items()}
  source = zoo.source(config.source, models[config.source])
  layers = config.layers or zoo.spec(config.source).depth_layers
  runs = ([('MIM', None, {})] +
          [('layer', layer, {'layer_name': layer}) for layer in layers] +
          [('N', n, {'ens': n}) for n in config.ens_values] +
          [('drop', round(1 - k, 2), {'keep_prob': k})
           for k in config.keep_values])
  progress = demo.Progress(len(runs), log)
  results = {'layer': [], 'N': [], 'drop': []}
  for sweep, value, change in runs:
    start = time.time()
    method = 'MIM' if sweep == 'MIM' else 'FIA'
    attack_config = dc.attack_config(method, dc.keep_prob_normal)
    layer_name = change.pop('layer_name', None)
    attack_config = dataclasses.replace(attack_config, **change)
    attack = fia_tf.Attack(source, attack_config, layer_name=layer_name)
    adv = np.concatenate([
        attack(images[s:s + dc.batch_size], labels[s:s + dc.batch_size],
               ids=ids[s:s + dc.batch_size]).numpy()
        for s in range(0, len(images), dc.batch_size)])
    rates = _evaluate(adv, labels, clean_pred, models, config.source)
    if sweep == 'MIM':
      results['MIM'] = rates
    else:
      results[sweep].append((value, rates))
    progress.step(1, f'{sweep} = {value}: changed normal '
                  f'{rates["changed"]["normal"]:.1f}%, defence '
                  f'{rates["changed"]["defence"]:.1f}%', len(images),
                  time.time() - start)
  _write(results, config, out_dir, log)
  return results


def _write(results, config, out_dir, log):
  mim = results['MIM']
  dc = config.settings
  lines = [f'# FIA ablations, source {config.source}, eps {dc.eps:g}, '
           f'{dc.num_images or 1000} images', '',
           'Black-box success (%): mean over normal targets other than the '
           f'source, and over defended targets. Other settings: N {dc.ens}, '
           f'keep {dc.keep_prob_normal}, layer '
           f'{zoo.spec(config.source).feature_layer}.', '',
           f'MIM reference: changed {mim["changed"]["normal"]:.1f} / '
           f'{mim["changed"]["defence"]:.1f}, wrong '
           f'{mim["wrong"]["normal"]:.1f} / {mim["wrong"]["defence"]:.1f}', '',
           '| sweep | value | changed normal | changed defence | '
           'wrong normal | wrong defence |', '|---|---|---|---|---|---|']
  rows = []
  for sweep in ('layer', 'N', 'drop'):
    for value, rates in results[sweep]:
      lines.append(
          f'| {sweep} | {value} | {rates["changed"]["normal"]:.1f} | '
          f'{rates["changed"]["defence"]:.1f} | '
          f'{rates["wrong"]["normal"]:.1f} | {rates["wrong"]["defence"]:.1f} |')
      rows.append({'sweep': sweep, 'value': value,
                   **{f'{m}_{k}': f'{rates[m][k]:.2f}' for m in demo.METRICS
                      for k in ('normal', 'defence')}})
  (out_dir / 'ablation.md').write_text('\n'.join(lines))
  with open(out_dir / 'ablation.csv', 'w', newline='') as f:
    writer = csv.DictWriter(f, list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
  for sweep, xlabel, fname in (('layer', 'feature layer (shallow to deep)',
                                'ablation_layer.png'),
                               ('N', 'N (masked copies)', 'ablation_n.png'),
                               ('drop', 'drop probability 1-p',
                                'ablation_drop.png')):
    values = [v for v, _ in results[sweep]]
    x = list(range(len(values))) if sweep == 'layer' else values
    ticks = [str(i + 1) for i in range(len(values))] if sweep == 'layer' \
        else None
    series = {
        'FIA normal': [r['changed']['normal'] for _, r in results[sweep]],
        'FIA defence': [r['changed']['defence'] for _, r in results[sweep]],
        'MIM normal': [mim['changed']['normal']] * len(values),
        'MIM defence': [mim['changed']['defence']] * len(values),
    }
    # Differences are a few points: zoom the y axis to the data.
    top = 10 * np.ceil(max(max(v) for v in series.values()) / 10 + 0.5)
    image = png.line_plot(
        x, series, title=f'{config.source}: FIA success (changed) vs {sweep}',
        xlabel=xlabel, ylabel='%', xticklabels=ticks, ylim=(0.0, top))
    if sweep == 'layer':
      legend = png.canvas(14 * len(values) + 6, image.shape[1])
      for i, name in enumerate(values):
        png.draw_text(legend, f'{i + 1}: {name}', 4 + 14 * i, 10)
      image = png.vstack([image, legend], gap=0)
    png.save(out_dir / fname, image)
  if log:
    log('\n'.join(lines))
    log(f'wrote {out_dir}/ablation.md, ablation.csv, ablation_layer.png, '
        'ablation_n.png, ablation_drop.png')
