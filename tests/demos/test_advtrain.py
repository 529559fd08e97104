"""``make demo-advtrain`` on a tiny configuration: the attack layer inside
``model.fit`` and ``tf.data`` really fine-tunes, and every number of the
tables follows from the saved predictions."""

import csv
import dataclasses
import io

import imageio.v3 as iio
import numpy as np
import pytest
import tensorflow as tf

from fia_tf import preprocessing
from fia_tf.demos import advtrain
from fia_tf.demos.mini import models as zoo
from tests.helpers.paths import FASHION_SUBSET
from tests.helpers.paths import MINI_MODELS

TINY = advtrain.AdvTrainConfig(
    variants=('clean', 'MIM', 'tfdata:FIA'), sources=('vgg',),
    methods=('MIM', 'FIA'), num_iter=2, ens=2, train_num_iter=2, train_ens=2,
    epochs=1, batch_size=4, train_images=8, eval_images=6, eval_batch_size=6,
    model_dir=str(MINI_MODELS), subset_path=str(FASHION_SUBSET))


@pytest.fixture(scope='module')
def run(tmp_path_factory):
  out = tmp_path_factory.mktemp('advtrain')
  lines = []
  result = advtrain.run(TINY, out, log=lines.append)
  return out, result, lines


def _csv(path):
  with open(path) as f:
    return list(csv.DictReader(f))


def test_fine_tuning_changes_the_weights(run):
  _, result, _ = run
  committed = zoo.load(TINY.model, TINY.model_dir).get_weights()
  base = result['models']['base'].get_weights()
  assert all(np.array_equal(a, b) for a, b in zip(committed, base))
  for variant in TINY.variants:
    tuned = result['models'][variant].get_weights()
    change = max(float(np.abs(a - b).max()) for a, b in zip(committed, tuned))
    # Adam's first steps move weights by about the learning rate each.
    assert change > TINY.learning_rate / 10, (variant, change)
    losses = result['summary']['training'][variant]['loss']
    assert len(losses) == TINY.epochs and np.isfinite(losses).all()
  # The adversarial variants trained on harder inputs than the clean one.
  training = result['summary']['training']
  assert training['MIM']['loss'][0] > training['clean']['loss'][0]
  assert training['tfdata:FIA']['loss'][0] > training['clean']['loss'][0]


def test_tables_follow_from_the_saved_predictions(run):
  out, result, _ = run
  with np.load(out / 'predictions.npz') as f:
    saved = dict(f)
  truth = saved['truth']
  np.testing.assert_array_equal(truth, result['eval'][1])
  rows = _csv(out / 'evaluation.csv')
  # 1 source x 2 methods (FIA at one keep probability) x 4 columns.
  assert len(rows) == 2 * 4
  for row in rows:
    clean = saved[f'{row["target"]}|clean']
    adv = saved[f'{row["target"]}|{row["set"]}']
    correct = clean == truth
    assert int(row['n']) == len(truth) == TINY.eval_images
    assert int(row['n_correct']) == int(correct.sum())
    expected = {'clean_accuracy': np.mean(correct),
                'success_changed': np.mean(adv != clean),
                'success_wrong': np.mean(adv != truth),
                'success_correct': np.mean((adv != truth)[correct])}
    for metric, value in expected.items():
      assert float(row[metric]) == pytest.approx(value, abs=1e-6), metric
  # The per-variant means of summary.csv are the means of those rows.
  for line in _csv(out / 'summary.csv'):
    mine = [r for r in rows if r['target'] == line['model'] and
            line['method'] in ('all', r['method'])]
    assert mine, line
    for metric in ('success_changed', 'success_wrong', 'success_correct'):
      mean = 100 * np.mean([float(r[metric]) for r in mine])
      assert float(line[metric]) == pytest.approx(mean, abs=0.05)
    assert int(line['n_correct']) == int(mine[0]['n_correct'])
  # The Markdown table of the denominator metric shows its n.
  text = (out / 'results.md').read_text()
  assert f'(n={rows[0]["n_correct"]})' in text


def test_saved_predictions_are_the_models_predictions(run):
  out, result, _ = run
  with np.load(out / 'predictions.npz') as f:
    saved = dict(f)
  for column in ('base', 'MIM'):
    model = result['models'][column]
    name = advtrain._target_name(TINY, column)  # pylint: disable=protected-access
    for set_name, images in result['adversarial'].items():
      logits = model(preprocessing.unit(tf.constant(images)), training=False)
      np.testing.assert_array_equal(np.argmax(logits, -1),
                                    saved[f'{name}|{set_name}'])
      # Real attacks: inside the budget, and not the clean images.
      delta = np.abs(images - result['eval'][0])
      assert delta.max() <= TINY.eps + 1e-3 and delta.max() > 1


def test_tf_data_path_equals_a_direct_layer_call():
  images, labels, _ = advtrain.fashion_mnist.load_subset(FASHION_SUBSET,
                                                         limit=6)
  model = zoo.load(TINY.model, TINY.model_dir)
  layer = advtrain.attack_layer(model, TINY, 'FIA', training_only=False)
  dataset = tf.data.Dataset.from_tensor_slices((images, labels)).batch(3)
  batches = list(advtrain.adversarial_pipeline(layer, dataset))
  assert len(batches) == 2
  for i, (clean, adversarial, y) in enumerate(batches):
    part = slice(3 * i, 3 * i + 3)
    np.testing.assert_array_equal(clean.numpy(), images[part])
    np.testing.assert_array_equal(y.numpy(), labels[part])
    direct = layer(images[part], labels[part]).numpy()
    np.testing.assert_array_equal(adversarial.numpy(), direct)
    delta = np.abs(direct - images[part])
    assert 1 < delta.max() <= TINY.train_eps + 1e-3


def test_writes_figures_and_tables(run):
  out, _, lines = run
  for name in ('results.md', 'summary.csv', 'table_changed.csv',
               'table_correct.md', 'table_wrong.json', 'summary.json'):
    assert (out / name).stat().st_size > 0, name
  for name in ('advtrain.png', 'examples.png'):
    image = iio.imread(out / name)
    assert image.ndim == 3 and len(np.unique(
        image.reshape(-1, image.shape[2]), axis=0)) > 10, name
  header = next(csv.reader(io.StringIO((out / 'table_correct.csv')
                                       .read_text())))
  assert 'inception (n)' in header and 'inception+MIM (n)' in header
  assert any('finished' in line for line in lines)


@pytest.mark.parametrize('change, words', [
    ({'model': 'ens3_adv_inception'}, 'ens3_adv_inception'),
    ({'sources': ('inception',)}, "'inception' is the fine-tuned model"),
    ({'variants': ('clean', 'XYZ')}, "variant 'XYZ'"),
    ({'variants': ('MIM', 'MIM')}, 'distinct'),
    ({'train_images': 600, 'eval_images': 500}, 'exceeds the 1000'),
    ({'epochs': 0}, 'epochs must be a positive integer, got 0'),
])
def test_bad_config_says_what_is_wrong(change, words):
  with pytest.raises(ValueError, match=words.replace('(', r'\(')):
    dataclasses.replace(TINY, **change)


@pytest.mark.slow
def test_same_seed_same_bytes(run, tmp_path):
  out, _, _ = run
  advtrain.run(TINY, tmp_path, log=None, figures=False)
  for name in ('summary.csv', 'evaluation.csv', 'table_changed.csv',
               'table_correct.csv', 'results.md'):
    assert (tmp_path / name).read_bytes() == (out / name).read_bytes(), name
