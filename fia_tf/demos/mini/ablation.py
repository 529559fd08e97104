"""FIA ablations on the mini models: feature-layer depth, N, drop probability.

For one source model, FIA is run with one setting changed at a time (the
others at the demo's defaults) and evaluated on every other model through
the transfer runner; the black-box averages over normal and over defended
targets are plotted against the setting, with MIM's as a reference line
(the analogue of the paper's Figures 4-6).
"""

import dataclasses
import pathlib

from fia_tf.attacks import config as config_lib
from fia_tf.data import files
from fia_tf.demos.mini import demo
from fia_tf.demos.mini import models as zoo
from fia_tf.evaluation import plots
from fia_tf.evaluation import tables
from fia_tf.evaluation import transfer


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


def ablation_sets(config):
  """``[(sweep, value, AttackSet)]``: MIM, then one FIA set per value."""
  dc = config.settings
  groups = tuple(g for g in transfer.GROUPS if g in dc.groups().values())
  base = dict(dc.settings(), keep_prob=dc.keep_prob_normal)
  layers = config.layers or zoo.spec(config.source).depth_layers
  runs = [('MIM', None, 'MIM', {}, None)]
  runs += [('layer', layer, f'FIA layer={layer}', {}, layer)
           for layer in layers]
  runs += [('N', n, f'FIA N={n}', {'ens': n}, None)
           for n in config.ens_values]
  runs += [('drop', round(1 - k, 2), f'FIA drop={round(1 - k, 2)}',
            {'keep_prob': k}, None) for k in config.keep_values]
  out = []
  for sweep, value, label, change, layer in runs:
    method = 'MIM' if sweep == 'MIM' else 'FIA'
    attack = config_lib.AttackConfig(**dict(base, method=method, **change))
    out.append((sweep, value, transfer.AttackSet(
        config.source, label, f'{config.source}/{label}', attack, groups,
        layer)))
  return out


def _black_box(rows, config, label):
  """``{short metric: {group: percent}}`` of one set over the other models."""
  groups = config.settings.groups()
  out = {}
  for metric, short in demo.METRICS:
    out[short] = {}
    for group in demo.AVERAGES:
      values = [r[metric] for r in rows if r['method'] == label and
                r['target'] != config.source and groups[r['target']] == group]
      out[short][group] = (100 * sum(values) / len(values) if values else
                           float('nan'))
  return out


def run_ablation(config=AblationConfig(),
                 out_dir=pathlib.Path('results') / 'mini', log=print):
  """Runs the three sweeps; writes ablation.md / .csv and three PNGs.

  Returns:
    ``{sweep: [(value, {metric: {group: percent}}), ...]}`` plus ``'MIM'``:
    the reference rates.
  """
  out_dir = pathlib.Path(out_dir)
  planned = ablation_sets(config)
  settings = dataclasses.replace(config.settings, sources=(config.source,))
  result, _ = demo.run_transfer(settings, log,
                                sets=[s for _, _, s in planned])
  results = {'layer': [], 'N': [], 'drop': []}
  for sweep, value, attack_set in planned:
    rates = _black_box(result.rows, config, attack_set.method)
    if sweep == 'MIM':
      results['MIM'] = rates
    else:
      results[sweep].append((value, rates))
  _write(results, config, result.rows, out_dir, log)
  return results


def _write(results, config, rows, out_dir, log):
  mim = results['MIM']
  dc = config.settings
  lines = [f'# FIA ablations, source {config.source}, eps {dc.eps:g}, '
           f'{dc.num_images or 1000} images', '',
           'Black-box success (%): mean over normal targets other than the '
           f'source, and over defended targets. Other settings: N {dc.ens}, '
           f'keep {dc.keep_prob_normal}, layer '
           f'{zoo.spec(config.source).feature_layer}.', '',
           f'MIM reference: changed {mim["changed"]["normal"]:.1f} / '
           f'{mim["changed"]["defended"]:.1f}, wrong '
           f'{mim["wrong"]["normal"]:.1f} / {mim["wrong"]["defended"]:.1f}',
           '',
           '| sweep | value | changed normal | changed defence | '
           'wrong normal | wrong defence |', '|---|---|---|---|---|---|']
  for sweep in ('layer', 'N', 'drop'):
    for value, rates in results[sweep]:
      lines.append(
          f'| {sweep} | {value} | {rates["changed"]["normal"]:.1f} | '
          f'{rates["changed"]["defended"]:.1f} | '
          f'{rates["wrong"]["normal"]:.1f} | '
          f'{rates["wrong"]["defended"]:.1f} |')
  files.atomic_write_text(out_dir / 'ablation.md', '\n'.join(lines))
  files.atomic_write_text(out_dir / 'ablation.csv', tables.rows_csv(rows))
  if plots.available():
    for sweep, xlabel, fname in (
        ('layer', 'feature layer (shallow to deep)', 'ablation_layer.png'),
        ('N', 'N (masked copies)', 'ablation_n.png'),
        ('drop', 'drop probability 1 - p', 'ablation_drop.png')):
      values = [v for v, _ in results[sweep]]
      x = list(range(len(values))) if sweep == 'layer' else values
      series = {
          'FIA, normal targets': [r['changed']['normal']
                                  for _, r in results[sweep]],
          'FIA, defended targets': [r['changed']['defended']
                                    for _, r in results[sweep]],
          'MIM, normal targets': [mim['changed']['normal']] * len(values),
          'MIM, defended targets': [mim['changed']['defended']] * len(values),
      }
      styles = {k: {'linestyle': '--'} for k in series if k.startswith('MIM')}
      plots.line_plot(
          out_dir / fname, x, series,
          title=f'{config.source}: FIA black-box success (changed) vs '
          f'{xlabel.split(" (")[0]}', xlabel=xlabel,
          ylabel='success rate (%)',
          xticklabels=values if sweep == 'layer' else None, styles=styles)
  if log:
    log('\n'.join(lines))
    log(f'wrote {out_dir}/ablation.md, ablation.csv, ablation_layer.png, '
        'ablation_n.png, ablation_drop.png')
