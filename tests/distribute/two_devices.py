"""Child process of test_distribute.py: one device vs two logical CPUs.

TensorFlow fixes its devices at the first op, so the split has to happen in
a fresh process. Prints one JSON object with everything the test checks.

  python tests/distribute/two_devices.py CHECKPOINT_DIR
"""

import json
import sys

import numpy as np

from fia_tf import distribute

distribute.split_cpu(2)

import tensorflow as tf  # pylint: disable=g-import-not-at-top,wrong-import-position

import fia_tf  # pylint: disable=g-import-not-at-top,wrong-import-position
from fia_tf import evaluation  # pylint: disable=g-import-not-at-top,wrong-import-position
from fia_tf.zoo import registry  # pylint: disable=g-import-not-at-top,wrong-import-position
from fia_tf.zoo import tiny  # pylint: disable=g-import-not-at-top,wrong-import-position

for _spec in tiny.SPECS:
  registry.register(_spec)

METHODS = ['MIM', 'DIM', 'TIM', 'PIM', 'TIDIM', 'NRDM', 'FDA', 'FIA',
           'FIA+PIDIM', 'FIATIDIM', 'ILPD', 'P2FA']
# Objectives whose state advances per iteration: ILPD keys its noise by the
# iteration, P2FA re-anchors (every 2 of the 4 iterations here).
OPTIONS = {'P2FA': {'p2fa_inner': 2, 'p2fa_eta': 3.0}}


def main(checkpoint_dir):
  strategy = distribute.make_strategy('mirrored')
  report = {'replicas': strategy.num_replicas_in_sync,
            'devices': list(strategy.extended.worker_devices)}

  # Which replica computed each image of a batch of 5 (3 + 2, one padded).
  def whose(x):
    replica = tf.distribute.get_replica_context().replica_id_in_sync_group
    return x * 0 + tf.cast(replica, x.dtype)
  report['shard_of_image'] = distribute.run_sharded(
      strategy, whose, tf.range(5.0)).numpy().tolist()

  rs = np.random.RandomState(7)
  cases = {}
  for name in ('tiny_inception', 'tiny_vgg'):
    spec = registry.get_spec(name)
    size = spec.input_size
    images = rs.uniform(0, 255, (5, size, size, 3)).round().astype(np.float32)
    labels = rs.randint(0, spec.num_classes, 5).astype(np.int32)
    ids = np.array([3, 141, 59, 26, 5], np.int64)
    single = spec.source_model(checkpoint_dir=checkpoint_dir)
    with strategy.scope():
      mirrored = spec.source_model(checkpoint_dir=checkpoint_dir)
    report.setdefault('mirrored_variables', type(
        mirrored.model.weights[0].value).__name__)
    for method in METHODS:
      # micro_batch fixes every kernel shape: one device runs 5 images as
      # steps of 2 + 2 + 1 (padded), two devices as 2 x 2 + 2 x 1 (padded).
      config = fia_tf.AttackConfig(method=method, ens=6, num_iter=4,
                                   mask_batch=8, seed=5, micro_batch=2,
                                   options=OPTIONS.get(method))
      one_adv, one_values = fia_tf.Attack(single, config).run(
          images, labels, ids)
      two_adv, two_values = fia_tf.Attack(
          mirrored, config, strategy=strategy).run(images, labels, ids)
      one_adv, two_adv = one_adv.numpy(), two_adv.numpy()
      cases[f'{name}/{method}'] = {
          'adv_equal': bool(np.array_equal(one_adv, two_adv)),
          'values_max_rel_diff': float(
              np.abs(one_values.numpy() - two_values.numpy()).max() /
              np.abs(one_values.numpy()).max()),
          'max_diff': float(np.abs(one_adv - two_adv).max()),
          'moved': float(np.abs(one_adv - images).max()),
          'shape': list(two_adv.shape),
          'values_shape': list(two_values.shape)}
    one = evaluation.RegistryTarget(name, checkpoint_dir)
    two = evaluation.RegistryTarget(name, checkpoint_dir, strategy=strategy)
    probe = rs.uniform(0, 255, (7, size, size, 3)).astype(np.float32)
    one_labels, two_labels = one.predict(probe), two.predict(probe)
    one_logits = one.model(spec.preprocess(probe), training=False).numpy()
    two_logits = distribute.run_sharded(
        strategy, lambda x, m=two.model, p=spec.preprocess: m(p(x)),
        tf.constant(probe)).numpy()
    cases[f'{name}/predict'] = {
        'labels_equal': bool(np.array_equal(one_labels, two_labels)),
        'logits_max_rel_diff': float(np.abs(one_logits - two_logits).max() /
                                     np.abs(one_logits).max()),
        'logits_spread': float(np.ptp(one_logits)),
        'mirrored_model': type(two.model.weights[0].value).__name__}
  report['cases'] = cases
  print(json.dumps(report))


if __name__ == '__main__':
  main(sys.argv[1])
