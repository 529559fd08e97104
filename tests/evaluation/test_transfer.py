"""The evaluation core: metrics, targets, the runner and the tables."""

import math

import numpy as np
import pytest

import fia_tf
from fia_tf import evaluation
from fia_tf.evaluation import metrics
from fia_tf.evaluation import tables
from fia_tf.evaluation import transfer
from tests.helpers.models import tiny_cnn


class FixedTarget(evaluation.Target):
  """Predicts a fixed function of the mean pixel (no model)."""

  def __init__(self, name, input_size=None):
    self.name, self.input_size = name, input_size
    self.calls = []

  def _predict(self, images):
    self.calls.append(images.shape)
    return (images.mean(axis=(1, 2, 3)) > 100).astype(np.int64)


def test_rates_by_hand():
  truth = np.array([0, 1, 1, 0, 2])
  clean = np.array([0, 1, 0, 0, 2])        # 4 of 5 right
  adv = np.array([1, 1, 1, 0, 0])
  out = metrics.rates(truth, clean, adv, control=clean)
  assert out['n'] == 5 and out['n_correct'] == 4
  assert out['clean_accuracy'] == pytest.approx(0.8)
  assert out['success_changed'] == pytest.approx(3 / 5)
  assert out['success_wrong'] == pytest.approx(2 / 5)
  # Among the 4 clean-correct images, 2 are wrong after the attack.
  assert out['success_correct'] == pytest.approx(2 / 4)
  assert out['control_changed'] == 0.0
  empty = metrics.rates([], [], [])
  assert empty['n'] == 0 and math.isnan(empty['success_changed'])
  with pytest.raises(ValueError, match='align'):
    metrics.rates([1, 2], [1], [1, 2])


def test_evaluate_in_memory_with_control_and_resizing():
  images = np.full((4, 8, 8, 3), 50.0, np.float32)
  images[2:] = 200.0
  labels = np.array([0, 0, 1, 1])
  adversarial = {'a': images[::-1].copy(),
                 'small': images[:, :4, :4].copy()}
  target = FixedTarget('t', input_size=8)
  rows = transfer.evaluate(
      evaluation.ArrayInputs(images, labels, adversarial), [target],
      ['a', 'small'], progress_every=0.0, log=lambda line: None)
  by_set = {r['set']: r for r in rows}
  assert by_set['a']['success_changed'] == 1.0
  assert by_set['a']['clean_accuracy'] == 1.0
  assert by_set['small']['success_changed'] == 0.0
  assert by_set['small']['image_size'] == 4
  # Every prediction at the target's size: the 4 px set was resized.
  assert all(shape[1:3] == (8, 8) for shape in target.calls)
  assert by_set['small']['control_changed'] == 0.0
  assert by_set['a']['missing'] == []


def test_targets_of_keras_models_and_source_models():
  model = tiny_cnn(classes=5, seed=3)
  images = np.random.RandomState(0).uniform(0, 255, (3, 32, 32, 3))
  direct = np.argmax(model(fia_tf.preprocessing.inception(images)), -1)
  as_keras = evaluation.as_target(model, preprocess='inception',
                                  label_offset=-1)
  np.testing.assert_array_equal(as_keras.predict(images), direct + 1)
  source = fia_tf.SourceModel(model, fia_tf.preprocessing.inception,
                              name='src')
  as_source = evaluation.as_target(source)
  assert as_source.name == 'src'
  np.testing.assert_array_equal(as_source.predict(images), direct)
  with pytest.raises(ValueError, match='registry name, a Keras model'):
    evaluation.as_target(3)


def test_plan_sets_splits_feature_methods_by_keep_probability():
  sets = transfer.plan_sets(['s'], ['MIM', 'FIA+PIDIM'], {'ens': 2},
                            groups=('normal', 'defended'))
  assert [(s.name, s.groups) for s in sets] == [
      ('s/MIM', ('normal', 'defended')),
      ('s/FIA+PIDIM_p0.7', ('normal',)),
      ('s/FIA+PIDIM_p0.9', ('defended',))]
  assert sets[1].config.keep_prob == 0.7 and sets[1].config.ens == 2
  same = transfer.plan_sets(['s'], ['FIA'], groups=('normal', 'defended'),
                            keep_prob={'defended': 0.7})
  assert [(s.name, s.groups) for s in same] == [
      ('s/FIA_p0.7', ('normal', 'defended'))]
  with pytest.raises(ValueError, match="unknown attack method 'XYZ'"):
    transfer.plan_sets(['s'], ['XYZ'])


def test_plan_sets_method_settings_reach_only_their_method():
  sets = transfer.plan_sets(
      ['a', 'b'], ['MIM', 'BFA', 'RPA'], {'ens': 2, 'num_iter': 4},
      groups=('normal', 'defended'),
      method_settings={'BFA': {'num_iter': 3, 'options': {'bfa_eta': 2.5}},
                       'RPA': {'options': {'rpa_masks': 'patch'}}},
      source_settings={'b': {'ens': 5}})
  by_name = {s.name: s.config for s in sets}
  assert by_name['a/BFA'].option('bfa_eta') == 2.5
  assert by_name['a/BFA'].num_iter == 3 and by_name['a/MIM'].num_iter == 4
  assert by_name['a/RPA_p0.9'].option('rpa_masks') == 'patch'
  assert by_name['a/MIM'].options == ()
  # A source's fields replace the method's and the shared ones.
  assert by_name['b/BFA'].ens == 5 and by_name['b/BFA'].option('bfa_eta') == 2.5
  # Without method settings BFA keeps its code's default.
  (plain,) = transfer.plan_sets(['a'], ['BFA'])
  assert plain.config.option('bfa_eta') == 28.0


def test_plan_sets_rejects_bad_method_settings():
  with pytest.raises(ValueError, match=r"settings for \['BFA '\].*not among"):
    transfer.plan_sets(['s'], ['BFA'], method_settings={'BFA ': {}})
  with pytest.raises(ValueError, match="may not set.*keep_prob"):
    transfer.plan_sets(['s'], ['RPA'],
                       method_settings={'RPA': {'keep_prob': 0.5}})
  with pytest.raises(ValueError, match="must be a dict"):
    transfer.plan_sets(['s'], ['BFA'], method_settings={'BFA': 3})
  # An option of another part is the config's own error, naming it.
  with pytest.raises(ValueError, match="bfa_eta"):
    transfer.plan_sets(['s'], ['MIM'],
                       method_settings={'MIM': {'options': {'bfa_eta': 1.0}}})


def test_run_in_memory_and_transfer_table(tiny_source, images, labels):
  other = evaluation.KerasTarget(tiny_cnn(seed=4),
                                 fia_tf.preprocessing.inception,
                                 name='other')
  own = evaluation.as_target(tiny_source)
  sets = transfer.plan_sets(['tiny'], ['MIM', 'FIA'],
                            {'ens': 2, 'num_iter': 2})
  result = transfer.run_in_memory(
      images, labels, np.arange(6), {'tiny': tiny_source}, sets,
      {'normal': [own, other]}, batch_size=4, log=lambda line: None)
  assert len(result.rows) == 4
  table = tables.transfer_table(
      result.rows, 'success_changed', sources=['tiny'],
      methods=['MIM', 'FIA'], targets=['tiny', 'other'],
      groups={'tiny': 'normal', 'other': 'normal'}, averages=('normal',))
  row = {r['target']: r for r in result.rows if r['method'] == 'MIM'}
  assert table.cell('tiny / MIM', 'other') == row['other']['success_changed']
  # The black-box average leaves out the source itself.
  assert table.cell('tiny / MIM', 'avg normal (black-box)') == (
      row['other']['success_changed'])
  assert table.marks[0].tolist() == [True, False, False]
  text = tables.to_markdown(table)
  assert '| tiny / MIM |' in text and '*' in text
  assert tables.to_json(table)['columns'][-1] == 'avg normal (black-box)'


def test_success_among_clean_correct_carries_its_denominator():
  rows = [{'source': 's', 'method': 'MIM', 'target': t, 'n': 10,
           'n_correct': n, 'success_correct': rate, 'success_changed': 0.5}
          for t, n, rate in [('a', 8, 0.75), ('b', 0, float('nan'))]]
  table = tables.transfer_table(rows, 'success_correct', sources=['s'],
                                methods=['MIM'], targets=['a', 'b'],
                                groups={'a': 'normal', 'b': 'normal'},
                                averages=('normal',))
  assert table.count('s / MIM', 'a') == 8
  assert table.count('s / MIM', 'b') == 0
  assert table.count('s / MIM', 'avg normal (black-box)') is None
  text = tables.to_markdown(table)
  assert '| s / MIM | 75.0 (n=8) | - (n=0) |' in text
  lines = tables.to_csv(table).splitlines()
  assert lines[0] == 'source/method,a,a (n),b,b (n),avg normal (black-box)'
  assert lines[1] == 's / MIM,75.0,8,,0,75.0'
  assert tables.to_json(table)['counts'] == [[8, 0, None]]
  # The changed/wrong tables have no subset: no denominators.
  plain = tables.transfer_table(rows, 'success_changed', sources=['s'],
                                methods=['MIM'], targets=['a', 'b'])
  assert plain.counts is None and '(n=' not in tables.to_markdown(plain)


def test_heatmap_columns_carry_the_denominators():
  rows = [{'source': s, 'method': 'MIM', 'target': t, 'n': 10,
           'n_correct': n, 'success_correct': 0.5, 'success_changed': 0.5}
          for s, t, n in [('s', 'a', 8), ('s', 'b', 7), ('r', 'a', 8),
                          ('r', 'b', 6)]]
  table = tables.transfer_table(rows, 'success_correct', sources=['s', 'r'],
                                methods=['MIM'], targets=['a', 'b', 'c'])
  # a: one n for every row; b: two; c: never evaluated.
  assert tables.heatmap_columns(table) == ['a (n=8)', 'b (n varies)', 'c']
  plain = tables.transfer_table(rows, 'success_changed', sources=['s'],
                                methods=['MIM'], targets=['a'])
  assert tables.heatmap_columns(plain) == ['a']
