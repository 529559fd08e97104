"""The benchmark library: RSS sampler, timer and records on a tiny net."""

import time

import numpy as np
import pytest

from fia_tf.perf import roofline

_MB = 2**20


def test_peak_rss_sees_a_large_allocation():
  with roofline.PeakRss() as rss:
    block = np.ones(200 * _MB, np.uint8)  # np.ones touches every page
    time.sleep(0.1)
    del block
  assert rss.start_bytes > 0
  assert rss.peak_bytes - rss.start_bytes >= 150 * _MB
  assert rss.samples >= 3
  assert rss.ru_maxrss_bytes >= rss.peak_bytes - 4 * _MB


def test_best_time_warms_up_then_keeps_the_minimum():
  calls = []

  def fn():
    calls.append(None)
    # The first (warm-up) call is the slowest and must not be timed.
    time.sleep(0.2 if len(calls) == 1 else 0.01 * len(calls))
    return np.zeros(1)

  best, times = roofline.best_time(fn, 3)
  assert len(calls) == 4 and len(times) == 3
  assert best == min(times) and 0.015 < best < 0.15
  with pytest.raises(ValueError, match='repeats'):
    roofline.best_time(fn, 0)


def test_measure_records(tiny_source, images, labels):
  records = roofline.measure(tiny_source, images, labels, ens=3, num_iter=2,
                             repeats=1)
  by_key = {(r['method'], r['variant']): r for r in records}
  assert list(by_key) == [('FIA', 'vectorised'), ('FIA', 'per_mask'),
                          ('MIM', None), ('FIA+PIDIM', 'vectorised'),
                          ('DANAA', 'vectorised'), ('ILPD', None)]
  for r in records:
    assert r['model'] == 'tiny' and r['layer'] == 'feat' and r['batch'] == 6
    assert r['s_per_image'] > 0 and len(r['times_s']) == 1
    assert r['s_per_image'] == pytest.approx(r['times_s'][0] / 6)
    assert r['rss_peak_bytes'] >= r['rss_start_bytes'] > 0
    assert r['ru_maxrss_bytes'] > 0 and r['xla'] is False
    assert r['cores'] >= 1 and r['cpu'] and r['tf']
    assert r['memory_budget'] > 0
  for key in [('FIA', 'vectorised'), ('FIA', 'per_mask')]:
    r = by_key[key]
    assert r['roofline_s_per_image'] > 0
    assert r['full_pass_s'] > 0 and r['prefix_pass_s'] > 0
    assert r['ratio'] == pytest.approx(
        r['s_per_image'] / r['roofline_s_per_image'], rel=1e-9)
    layout = r['layout']
    assert layout['copies'] == 18
    assert layout['passes'] == layout['image_blocks'] * layout['mask_passes']
    assert layout['copies_per_pass'] == (layout['images_per_pass'] *
                                         layout['masks_per_pass'])
    assert layout['passes'] * layout['copies_per_pass'] >= 18
  vectorised = by_key[('FIA', 'vectorised')]['layout']
  per_mask = by_key[('FIA', 'per_mask')]
  assert per_mask['mask_batch'] == 6
  assert per_mask['layout']['masks_per_pass'] == 1
  assert per_mask['layout']['passes'] == 3
  assert per_mask['layout']['passes'] > vectorised['passes']
  assert by_key[('MIM', None)]['layout'] is None
  assert by_key[('MIM', None)]['ratio'] is None
  assert by_key[('FIA+PIDIM', 'vectorised')]['ratio'] is None
  # DANAA: its path runs ens = 3 passes of the whole batch; ILPD has no
  # copies. Both have rooflines.
  danaa, ilpd = by_key[('DANAA', 'vectorised')], by_key[('ILPD', None)]
  assert danaa['layout']['passes'] == 3
  assert danaa['layout']['copies_per_pass'] == 6
  assert danaa['layout']['copies'] == 18
  assert ilpd['layout'] is None
  for r in (danaa, ilpd):
    assert r['roofline_s_per_image'] > 0
    assert r['ratio'] == pytest.approx(
        r['s_per_image'] / r['roofline_s_per_image'], rel=1e-9)


def test_family_rooflines_add_up_their_pieces(tiny_source, images, labels):
  import fia_tf  # pylint: disable=import-outside-toplevel
  for method, ens in [('DANAA', 3), ('ILPD', 0)]:
    attack = fia_tf.Attack(tiny_source, fia_tf.AttackConfig(
        method=method, ens=ens, num_iter=2))
    line = roofline.roofline(attack, images, labels, 1)
    full, prefix, forward = (line['full_pass_s'], line['prefix_pass_s'],
                             line['forward_prefix_s'])
    assert min(full, prefix, forward) > 0
    want = (3 * full + forward + 2 * prefix if method == 'DANAA' else
            2 * (forward + full))
    assert line['roofline_s'] == pytest.approx(want, rel=1e-9)


def test_per_mask_not_repeated_when_the_default_is_per_mask(tiny_source,
                                                            images, labels):
  # A budget of one byte gives one copy per pass: already one mask per pass.
  records = roofline.measure(tiny_source, images[:2], labels[:2], ens=2,
                             num_iter=1, repeats=1, methods=['FIA'],
                             memory_budget=1)
  assert [r['variant'] for r in records] == ['vectorised']
  assert records[0]['mask_batch'] == 1
  assert records[0]['layout']['masks_per_pass'] == 1
  assert records[0]['layout']['passes'] == 4


@pytest.mark.parametrize('method', ['NAA', 'RPA'])
def test_naa_and_rpa_get_fias_roofline(tiny_source, images, labels, method):
  """NAA's and RPA's copies take FIA's passes, so they get its roofline."""
  (record,) = roofline.measure(tiny_source, images[:2], labels[:2], ens=2,
                               num_iter=1, repeats=1, methods=[method],
                               per_mask=False)
  assert record['method'] == method and record['variant'] == 'vectorised'
  assert record['roofline_s_per_image'] > 0
  assert record['ratio'] == pytest.approx(
      record['s_per_image'] / record['roofline_s_per_image'])


def test_roofline_only_for_plain_fia(tiny_source, images, labels):
  import fia_tf  # pylint: disable=import-outside-toplevel
  attack = fia_tf.Attack(tiny_source, fia_tf.AttackConfig(method='FIA+PIDIM',
                                                          ens=2))
  with pytest.raises(ValueError, match='plain FIA'):
    roofline.roofline(attack, images, labels, 1)


def test_plan_and_summary():
  cells = roofline.plan(['a', 'b'], [4, 20], [False, True], xla_max_batch=4,
                        skip=['b:20'])
  assert cells == [('a', 4, False), ('a', 4, True), ('a', 20, False),
                   ('b', 4, False), ('b', 4, True)]
  with pytest.raises(ValueError, match='MODEL:BATCH'):
    roofline.plan(['a'], [4], [False], skip=['a'])
  record = {'model': 'a', 'batch': 4, 'xla': False, 'method': 'MIM',
            'variant': None, 'layout': None, 's_per_image': 1.5,
            'roofline_s_per_image': None, 'ratio': None,
            'rss_peak_bytes': 2**31, 'rss_start_bytes': 2**30}
  table = roofline.summary_markdown([record])
  assert '| a | 4 | off | MIM | - | - | 1.500 | - | - | 2.00 | 1.00 |' in table


def test_random_batch_is_seeded(tiny_source):
  a_images, a_labels = roofline.random_batch(tiny_source, 3, seed=5)
  b_images, b_labels = roofline.random_batch(tiny_source, 3, seed=5)
  np.testing.assert_array_equal(a_images, b_images)
  np.testing.assert_array_equal(a_labels, b_labels)
  assert a_images.shape == (3, 32, 32, 3) and a_images.dtype == np.float32
  assert a_images.min() >= 0 and a_images.max() <= 255
  assert a_labels.min() >= 0 and a_labels.max() < tiny_source.num_classes
