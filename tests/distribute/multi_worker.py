"""One worker of a two-process MultiWorkerMirroredStrategy run on loopback.

  python tests/distribute/multi_worker.py CHECKPOINT_DIR PORT0,PORT1 INDEX OUT

Both workers attack the same 5 images; the chief (index 0) saves the
adversarial images to OUT (.npy); the test compares them with one device.
"""

import json
import os
import sys


def main(checkpoint_dir, ports, index, out):
  workers = [f'127.0.0.1:{p}' for p in ports.split(',')]
  os.environ['TF_CONFIG'] = json.dumps(
      {'cluster': {'worker': workers},
       'task': {'type': 'worker', 'index': int(index)}})
  # pylint: disable=g-import-not-at-top,import-outside-toplevel
  import numpy as np
  from fia_tf import distribute
  strategy = distribute.make_strategy('multi_worker')
  import fia_tf
  from fia_tf.zoo import registry
  from fia_tf.zoo import tiny
  for spec in tiny.SPECS:
    registry.register(spec)
  images, labels, ids = inputs()
  with strategy.scope():
    source = registry.get_spec('tiny_inception').source_model(
        checkpoint_dir=checkpoint_dir)
  attack = fia_tf.Attack(source, config(), strategy=strategy)
  adversarial = attack(images, labels, ids).numpy()
  if distribute.is_chief(strategy):
    np.save(out, adversarial)
  print(json.dumps({'index': int(index), 'replicas':
                    strategy.num_replicas_in_sync,
                    'chief': distribute.is_chief(strategy)}))


def inputs():
  import numpy as np  # pylint: disable=import-outside-toplevel
  rs = np.random.RandomState(3)
  images = rs.uniform(0, 255, (5, 32, 32, 3)).round().astype(np.float32)
  labels = rs.randint(0, 1001, 5).astype(np.int32)
  return images, labels, np.array([9, 8, 7, 6, 5], np.int64)


def config():
  import fia_tf  # pylint: disable=import-outside-toplevel
  return fia_tf.AttackConfig(method='FIA+PIDIM', ens=5, num_iter=3,
                             micro_batch=2, mask_batch=6, seed=2)


if __name__ == '__main__':
  main(*sys.argv[1:])
