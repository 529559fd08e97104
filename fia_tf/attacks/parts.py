"""The four kinds of attack parts and their name -> factory tables.

An attack is one loop (:mod:`fia_tf.attacks.engine`) assembled from four
parts, one of each kind:

* an **objective** (:data:`OBJECTIVES`): what the attack maximises, and
  what it prepares once from the clean images (FIA's importance weights);
* an **input transform** (:data:`INPUT_TRANSFORMS`): applied to the model
  input before every forward pass (DI);
* a **gradient transform** (:data:`GRADIENT_TRANSFORMS`): applied to the
  input gradient (TI);
* an **update rule** (:data:`UPDATE_RULES`): turns the gradient into a
  step (momentum sign, patch-wise).

Each table maps a part name to a factory ``factory(context) -> part``
(:class:`Context` says what the part may use) and to the token that names
it in method strings (``'FIA'``, ``'DI'``, ...). A new part is a new module
that calls ``<TABLE>.register(...)`` when imported; nothing else changes
(see ``fia_tf/attacks/objectives/`` for the objectives).
"""

import dataclasses
import difflib
import re
from typing import Any, Callable, Dict, Optional, Tuple

KINDS = ('objective', 'input_transform', 'gradient_transform', 'update')
_TOKEN = re.compile(r'[A-Z][A-Z0-9]*')


@dataclasses.dataclass(frozen=True)
class Option:
  """A setting a part reads that is not an :class:`fia_tf.AttackConfig` field.

  Attributes:
    name: the key in ``AttackConfig(options={...})``; prefix it with the
      part's name (``naa_gamma``) so that parts never share one.
    default: its value when not given.
    check: ``check(name, value)`` raising ``ValueError`` for a bad value
      (:mod:`fia_tf.attacks.checks`).
    help: one line.
  """
  name: str
  default: Any
  check: Callable[[str, Any], None]
  help: str = ''


@dataclasses.dataclass(frozen=True)
class PartSpec:
  """One registered part.

  Attributes:
    kind: one of :data:`KINDS`.
    name: the part's name (``'fia'``, ``'di'``, ``'momentum'``).
    factory: ``factory(context) -> part``.
    token: the method-string token: an objective's prefix (``'FIA'``,
      ``None`` for cross-entropy, which is named by the trailing ``M``) or a
      modifier (``'DI'``); ``None`` for a part no string names.
    settings: the :class:`fia_tf.AttackConfig` fields the part reads (for
      example FIA's ``('ens', 'keep_prob')``). Runs use it to know which
      settings shape a method's results.
    description: one line for listings.
    options: the part's own :class:`Option` s.
    aliases: further tokens that name the part in method strings (the
      original code's spellings, e.g. RPA's ``RPAFIA``).
  """
  kind: str
  name: str
  factory: Callable[['Context'], Any]
  token: Optional[str] = None
  settings: Tuple[str, ...] = ()
  description: str = ''
  options: Tuple[Option, ...] = ()
  aliases: Tuple[str, ...] = ()


class PartTable:
  """The parts of one kind, by name.

  Args:
    kind: one of :data:`KINDS`.
    default: the name of the part used when a method names none of this
      kind.
  """

  def __init__(self, kind, default):
    if kind not in KINDS:
      raise ValueError(f'kind must be one of {KINDS}, got {kind!r}')
    self.kind, self.default = kind, default
    self._specs: Dict[str, PartSpec] = {}

  def register(self, name, factory, *, token=None, settings=(),
               description='', options=(), aliases=(), replace=False):
    """Adds a part; returns its :class:`PartSpec`.

    Raises:
      ValueError: for a name or token already taken (unless ``replace``),
        or a token that is not upper-case letters and digits.
    """
    if not isinstance(name, str) or not re.fullmatch(r'[a-z][a-z0-9_]*',
                                                     name):
      raise ValueError(f'{self.kind} name must be lower-case letters, digits '
                       f'and _, got {name!r}')
    tokens = ([token] if token is not None else []) + list(aliases)
    for text in tokens:
      if not _TOKEN.fullmatch(str(text)):
        raise ValueError(f'{self.kind} token must be upper-case letters and '
                         f'digits, got {text!r}')
    if not replace:
      if name in self._specs:
        raise ValueError(f'{self.kind} {name!r} is already registered')
      for text in tokens:
        taken = [s.name for s in self._specs.values()
                 if text == s.token or text in s.aliases]
        if taken:
          raise ValueError(f'token {text!r} already names {self.kind} '
                           f'{taken[0]!r}')
    names = [o.name for o in options]
    if len(set(names)) != len(names):
      raise ValueError(f'{self.kind} {name!r}: options {names} repeat a '
                       'name')
    spec = PartSpec(self.kind, name, factory, token, tuple(settings),
                    description, tuple(options), tuple(aliases))
    self._specs[name] = spec
    return spec

  def unregister(self, name):
    """Removes a part (tests, plugins); the default cannot be removed."""
    if name == self.default:
      raise ValueError(f'the default {self.kind} {name!r} cannot be removed')
    self._specs.pop(name, None)

  def __contains__(self, name):
    return name in self._specs

  def __getitem__(self, name) -> PartSpec:
    try:
      return self._specs[name]
    except KeyError:
      close = difflib.get_close_matches(str(name), self._specs, n=3)
      hint = f' (did you mean {", ".join(close)}?)' if close else ''
      raise KeyError(f'unknown {self.kind} {name!r}{hint}; known: '
                     f'{", ".join(self.names())}') from None

  def names(self):
    return sorted(self._specs)

  def specs(self):
    return [self._specs[n] for n in self.names()]

  def by_token(self, token) -> Optional[PartSpec]:
    """The part a token (or alias) names, or ``None``."""
    for spec in self._specs.values():
      if spec.token == token or token in spec.aliases:
        return spec
    return None

  def build(self, name, context):
    """The part ``name`` built for ``context``."""
    return self[name].factory(context)


OBJECTIVES = PartTable('objective', default='ce')
INPUT_TRANSFORMS = PartTable('input_transform', default='none')
GRADIENT_TRANSFORMS = PartTable('gradient_transform', default='none')
UPDATE_RULES = PartTable('update', default='momentum')
TABLES = {'objective': OBJECTIVES, 'input_transform': INPUT_TRANSFORMS,
          'gradient_transform': GRADIENT_TRANSFORMS, 'update': UPDATE_RULES}


def options_of(parts):
  """The :class:`Option` s of the parts of ``parts`` (a :class:`Parts`)."""
  out = []
  for kind in KINDS:
    for option in TABLES[kind][getattr(parts, kind)].options:
      if any(o.name == option.name for o in out):
        raise ValueError(f'two parts of {parts} define option '
                         f'{option.name!r}')
      out.append(option)
  return tuple(out)


def settings_of(parts):
  """The config fields the parts of ``parts`` (a :class:`Parts`) read."""
  out = []
  for kind in KINDS:
    for field in TABLES[kind][getattr(parts, kind)].settings:
      if field not in out:
        out.append(field)
  return tuple(out)


@dataclasses.dataclass
class Context:
  """What a part's factory may use.

  Attributes:
    config: the :class:`fia_tf.AttackConfig`.
    network: the :class:`fia_tf.attacks.network.Network` (the source model
      seen from the attack).
    scale: working-domain units per pixel level (1 in pixels; the
      preprocessing's scale with ``domain='model'``); eps and step sizes
      are multiplied by it.
    input_transform: the attack's input transform, built first so that an
      objective can send its copies through it (FIA does, as the original).
  """
  config: Any
  network: Any
  scale: float
  input_transform: Any = None

  @property
  def image_shape(self):
    return self.network.image_shape

  @property
  def channels(self):
    return self.network.image_shape[2]
