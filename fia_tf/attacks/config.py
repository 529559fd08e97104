"""Attack configuration: every setting, its default and its validation."""

import dataclasses
from typing import Any, Optional

from fia_tf.attacks import checks
from fia_tf.attacks import methods
from fia_tf.attacks import parts as parts_lib

_MAX_SEED = 2**38  # seeds share an int64 with a purpose tag and a counter


@dataclasses.dataclass(frozen=True)
class AttackConfig:
  """Settings of one attack. Sizes and steps are in 0..255 pixel units.

  Attributes:
    method: a method string (``'MIM'``, ``'FIA+PIDIM'``, ...; see
      :func:`fia_tf.parse_method`) or a :class:`fia_tf.Parts`. Stored as
      the canonical name (``'FIAPIDIM'``); :attr:`parts` holds the parsed
      parts.
    eps: L-infinity budget (original ``max_epsilon``, default 16).
    alpha: step size (default 1.6).
    num_iter: iterations (default 10).
    momentum: momentum decay (default 1.0).
    ens: FIA's number N of Bernoulli-masked copies; 0 means the clean image
      only (original ``ens``).
    keep_prob: FIA's mask keep probability p (original ``probb``); the paper
      uses 0.7 against normal and 0.9 against defended targets.
    image_resize: DI's padded size; ``None`` picks 250 for 224 inputs, 330
      for 299 inputs, else ``round(size * 250 / 224)``.
    di_prob: probability that DI transforms an image (original ``prob``).
    tkern_size: TI Gaussian kernel size (original ``Tkern_size``).
    tkern_nsig: TI Gaussian kernel extent in standard deviations.
    amplification_factor: PI's step amplification (original default 2.5).
    gamma: PI's projection factor (original default 0.5).
    pkern_size: PI's projection kernel size (original ``Pkern_size``).
    ce_labels: ``'prediction'`` (the original: attack the clean image's
      predicted class) or ``'true'`` (attack the given labels).
    clip: ``'step'`` clips to [0, 255] after every step; ``'final'`` only
      projects to the eps-ball inside the loop and clips once at the end, as
      the original does (use it for golden comparisons).
    domain: ``'pixel'`` keeps the iterate in 0..255 pixels, where eps and
      the steps are exact; ``'model'`` keeps it in the model-input domain
      with eps and alpha rescaled, as the original does (needs a source with
      ``inverse`` and ``scale``; for golden comparisons: float rounding there
      decides ties such as PI's ``|amplification| - eps``).
    fda_reduction: ``'image'`` (per-image FDA loss, batch-size invariant) or
      ``'batch'`` (the original's single log-ratio over the whole batch,
      which couples images; for golden comparisons only).
    nrdm_noise_std: std of NRDM's initial Gaussian noise in pixel units.
    seed: seed of all randomness (masks, DI, NRDM noise).
    micro_batch: images per compiled step. A call's batch is cut into
      steps of exactly this many images per replica (the last padded with
      copies of its last image), so every kernel runs at the same shapes
      whatever the batch, the number of devices or the resume point, and
      results are bit-identical across them. ``None``: one step per call
      (per replica), whose shapes follow the batch. Inside a caller's graph
      (``tf.data``, Keras ``fit``) a call is always one step.
    mask_batch: copies per forward pass when an objective aggregates
      gradients over copies of each image (FIA's masked copies);
      ``None`` derives it from ``memory_budget``.
    memory_budget: bytes of activations one such pass may hold (used when
      ``mask_batch`` is None); ``None`` derives it from the device's memory
      (:func:`fia_tf.distribute.default_memory_budget`).
      With ``mask_batch`` it sets the pass size: speed and peak memory, and
      the last float bits where a kernel's rounding depends on its batch
      size (measured: 2e-9 relative in vgg_16's FIA weights).
    jit_compile: XLA on/off; ``None`` means on when a GPU is visible.
    options: settings of the method's parts that are not fields here,
      ``{name: value}`` (e.g. ``{'naa_gamma': 0.5}``); every part lists its
      own (``fia_tf.attacks.parts.OBJECTIVES['naa'].options``). Unknown
      names are an error; missing ones take the part's default, and
      :attr:`options` then holds all of them as sorted ``(name, value)``
      pairs. :meth:`option` reads one.
  """
  method: object = 'FIA'
  eps: float = 16.0
  alpha: float = 1.6
  num_iter: int = 10
  momentum: float = 1.0
  ens: int = 30
  keep_prob: float = 0.7
  image_resize: Optional[int] = None
  di_prob: float = 0.7
  tkern_size: int = 15
  tkern_nsig: float = 3.0
  amplification_factor: float = 2.5
  gamma: float = 0.5
  pkern_size: int = 3
  ce_labels: str = 'prediction'
  clip: str = 'step'
  domain: str = 'pixel'
  fda_reduction: str = 'image'
  nrdm_noise_std: float = 0.1
  seed: int = 0
  micro_batch: Optional[int] = None
  mask_batch: Optional[int] = None
  memory_budget: Optional[int] = None
  jit_compile: Optional[bool] = None
  options: Any = None
  parts: methods.Parts = dataclasses.field(init=False, repr=False,
                                           compare=False)

  def __post_init__(self):
    parts = methods.parse_method(self.method)
    object.__setattr__(self, 'parts', parts)
    object.__setattr__(self, 'method', parts.name)
    checks.check_real('eps', self.eps, low=0.0)
    checks.check_real('alpha', self.alpha, low=0.0, low_open=True)
    checks.check_int('num_iter', self.num_iter, low=1)
    checks.check_real('momentum', self.momentum, low=0.0)
    checks.check_int('ens', self.ens, low=0)
    checks.check_real('keep_prob', self.keep_prob, low=0.0, low_open=True, high=1.0)
    if self.image_resize is not None:
      checks.check_int('image_resize', self.image_resize, low=1)
    checks.check_real('di_prob', self.di_prob, low=0.0, high=1.0)
    checks.check_int('tkern_size', self.tkern_size, low=1)
    checks.check_real('tkern_nsig', self.tkern_nsig, low=0.0, low_open=True)
    checks.check_real('amplification_factor', self.amplification_factor, low=0.0,
                low_open=True)
    checks.check_real('gamma', self.gamma, low=0.0)
    checks.check_int('pkern_size', self.pkern_size, low=3)
    if self.pkern_size % 2 == 0:
      raise checks.SettingError('pkern_size',
                                f'must be odd, got {self.pkern_size!r}')
    checks.check_choice('ce_labels', self.ce_labels, ('prediction', 'true'))
    checks.check_choice('clip', self.clip, ('step', 'final'))
    checks.check_choice('domain', self.domain, ('pixel', 'model'))
    checks.check_choice('fda_reduction', self.fda_reduction, ('image', 'batch'))
    checks.check_real('nrdm_noise_std', self.nrdm_noise_std, low=0.0)
    checks.check_int('seed', self.seed, low=0)
    if self.seed >= _MAX_SEED:
      raise checks.SettingError('seed',
                                f'must be below 2**38, got {self.seed!r}')
    if self.mask_batch is not None:
      checks.check_int('mask_batch', self.mask_batch, low=1)
    if self.micro_batch is not None:
      checks.check_int('micro_batch', self.micro_batch, low=1)
    if self.memory_budget is not None:
      checks.check_int('memory_budget', self.memory_budget, low=1)
    if self.jit_compile not in (None, True, False):
      raise ValueError(
          f'jit_compile must be None, True or False, got {self.jit_compile!r}')
    object.__setattr__(self, 'options', _resolve_options(parts,
                                                         self.options))

  def option(self, name):
    """The value of part option ``name`` (see :attr:`options`)."""
    for key, value in self.options:
      if key == name:
        return value
    raise KeyError(f'{self.method} has no option {name!r}; its options: '
                   f'{[k for k, _ in self.options]}')

  def di_resize(self, size):
    """DI's padded size for an input of ``size`` pixels."""
    if self.image_resize is not None:
      resize = self.image_resize
    else:
      resize = {224: 250, 299: 330}.get(size, round(size * 250 / 224))
    if resize <= size:
      raise checks.SettingError(
          'image_resize', f'must exceed the input size {size}, got {resize!r}')
    return resize

  def to_dict(self):
    """A JSON-friendly dict that ``from_dict`` turns back into this config."""
    out = dataclasses.asdict(self)
    del out['parts']
    out['options'] = dict(self.options)
    return out

  @classmethod
  def from_dict(cls, values):
    return cls(**values)


def _resolve_options(parts, given):
  """All options of ``parts``' parts: given values (checked) or defaults."""
  if given is None:
    given = {}
  elif isinstance(given, (tuple, list)):
    given = dict(given)
  if not isinstance(given, dict):
    raise ValueError(f'options must be a dict of part settings, got '
                     f'{given!r}')
  known = {option.name: option for option in parts_lib.options_of(parts)}
  unknown = sorted(set(given) - set(known))
  if unknown:
    raise ValueError(f'{parts.name} has no option(s) {unknown}; its options: '
                     f'{sorted(known) or "none"}')
  out = {}
  for name, option in known.items():
    value = given.get(name, option.default)
    option.check(name, value)
    out[name] = value
  return tuple(sorted(out.items()))
