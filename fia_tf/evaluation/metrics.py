"""Transfer-attack success rates, one definition for every table.

For one target model and one adversarial set, over the images that have a
clean and an adversarial prediction:

* ``clean_accuracy``: clean prediction == ground truth;
* ``adv_accuracy``: adversarial prediction == ground truth;
* ``success_changed``: adversarial prediction != clean prediction (the
  metric of the original ``verify.py`` and of the paper's tables);
* ``success_wrong``: adversarial prediction != ground truth;
* ``success_correct``: ``success_wrong`` among the ``n_correct`` images the
  target classifies correctly when clean (the metric of papers that only
  attack correctly classified images);
* ``control_changed`` / ``control_wrong``: the same as the first two for the
  zero-perturbation control, each clean image sent through the path the
  adversarial images took (resized to the source's size, rounded to 8 bits,
  resized to the target's). Flips there come from resizing alone and bound
  how much of ``success_*`` is not the attack.

All rates are fractions in [0, 1]; ``nan`` when their denominator is 0.
"""

import numpy as np

METRICS = ('clean_accuracy', 'adv_accuracy', 'success_changed',
           'success_wrong', 'success_correct', 'control_changed',
           'control_wrong')
# Each rate's denominator field.
DENOMINATORS = {'success_correct': 'n_correct'}
SUCCESS = ('success_changed', 'success_wrong', 'success_correct')


def _mean(values):
  return float(np.mean(values)) if len(values) else float('nan')


def rates(truth, clean, adversarial, control=None):
  """The metrics of one (target, adversarial set) from aligned labels.

  Args:
    truth: ground-truth labels ``[n]``.
    clean: the target's clean predictions ``[n]``.
    adversarial: its predictions on the adversarial images ``[n]``.
    control: optional predictions on the zero-perturbation control.

  Returns:
    ``{'n', 'n_correct', <metric>: rate}``.
  """
  truth, clean, adversarial = (np.asarray(a) for a in
                               (truth, clean, adversarial))
  if not truth.shape == clean.shape == adversarial.shape:
    raise ValueError(f'truth, clean and adversarial predictions must align, '
                     f'got shapes {truth.shape}, {clean.shape}, '
                     f'{adversarial.shape}')
  correct = clean == truth
  out = {'n': int(truth.size), 'n_correct': int(correct.sum()),
         'clean_accuracy': _mean(correct),
         'adv_accuracy': _mean(adversarial == truth),
         'success_changed': _mean(adversarial != clean),
         'success_wrong': _mean(adversarial != truth),
         'success_correct': _mean((adversarial != truth)[correct])}
  if control is not None:
    control = np.asarray(control)
    out['control_changed'] = _mean(control != clean)
    out['control_wrong'] = _mean(control != truth)
  return out
