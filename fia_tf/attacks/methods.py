"""Attack methods as choices of parts, and the parser for method strings.

A method string is an optional objective prefix (the token of a registered
objective: ``FIA``, ``NRDM``, ``FDA``, ...; none means cross-entropy), then
modifier tokens of the other part kinds (``DI``, ``TI``, ``PI``, and ``MI``,
the momentum every method has), each at most once, then an optional
trailing ``M`` (the "Method" of MIM/DIM/TIM/PIM). ``+``, ``-``, ``_`` and
spaces are ignored and case does not matter, so ``FIA+PIDIM``,
``fia-pi-di`` and ``FIAPIDIM`` are the same attack. The tokens come from
the part tables (:mod:`fia_tf.attacks.parts`), so a newly registered part
is parsed like the built-in ones.

The original code picks parts by substring tests on the method name
(``'DI' in attack_method``), which makes ``'FIADI'`` and ``'MIDI'`` mean
surprising things and accepts any typo; here a name is parsed, and anything
else is a ``ValueError`` stating the grammar.
"""

import dataclasses
import re

from fia_tf.attacks import parts as parts_lib

# Modifier order in canonical names: TI, PI, DI (as in the original's
# TIDIM, PIDIM).
_MODIFIER_KINDS = ('gradient_transform', 'update', 'input_transform')


@dataclasses.dataclass(frozen=True)
class Parts:
  """The parts of one attack, by name (see :mod:`fia_tf.attacks.parts`)."""
  objective: str = 'ce'
  input_transform: str = 'none'
  gradient_transform: str = 'none'
  update: str = 'momentum'

  def __post_init__(self):
    for kind in parts_lib.KINDS:
      table = parts_lib.TABLES[kind]
      value = getattr(self, kind)
      if value not in table:
        raise ValueError(f'{kind} must be one of {tuple(table.names())}, '
                         f'got {value!r}')

  @property
  def name(self):
    """A canonical method name that parses back to these parts."""
    prefix = parts_lib.OBJECTIVES[self.objective].token or ''
    tokens = ''
    for kind in _MODIFIER_KINDS:
      table = parts_lib.TABLES[kind]
      name = getattr(self, kind)
      if name != table.default:
        tokens += table[name].token or ''
    if not prefix and not tokens:
      tokens = parts_lib.UPDATE_RULES[parts_lib.UPDATE_RULES.default].token
    return prefix + tokens + ('M' if not prefix or tokens else '')


def _grammar():
  objectives = [s.token for s in parts_lib.OBJECTIVES.specs() if s.token]
  modifiers = [s.token for kind in _MODIFIER_KINDS
               for s in parts_lib.TABLES[kind].specs() if s.token]
  return (f'A method is an optional objective ({", ".join(objectives)}; '
          'none means cross-entropy) followed by any of '
          f'{", ".join(modifiers)} and an optional final M, e.g. MIM, DIM, '
          'TIM, PIM, TIDIM, NRDM, FDA, FIA, FIAPI, FIAPIDIM, FIA+TIDIM')


def _bad(method, why):
  return ValueError(f'unknown attack method {method!r}: {why}. {_grammar()}')


def _modifiers(text):
  """``{kind: part name}`` of a string of modifier tokens; raises
  ``(why)`` as a string on failure."""
  chosen = {}
  tokens = {s.token: s for kind in _MODIFIER_KINDS
            for s in parts_lib.TABLES[kind].specs() if s.token}
  seen = []
  while text:
    match = next((t for t in sorted(tokens, key=len, reverse=True)
                  if text.startswith(t)), None)
    if match is None:
      if text == 'M':
        break
      raise ValueError(f'cannot read {text!r}')
    if match in seen:
      raise ValueError(f'{match} appears twice')
    seen.append(match)
    spec = tokens[match]
    table = parts_lib.TABLES[spec.kind]
    if spec.name != table.default:
      if spec.kind in chosen:
        other = table[chosen[spec.kind]].token
        raise ValueError(f'{other} and {match} both choose the {spec.kind}')
      chosen[spec.kind] = spec.name
    text = text[len(match):]
  return chosen, text == 'M'


def parse_method(method):
  """Parses a method string into :class:`Parts`.

  Args:
    method: e.g. ``'MIM'``, ``'TIDIM'``, ``'FIA'``, ``'FIA+PIDIM'``, or a
      :class:`Parts` (returned as is).

  Returns:
    The :class:`Parts` of the attack.

  Raises:
    ValueError: for a string that is not a valid method, naming it and
      stating the grammar.
  """
  if isinstance(method, Parts):
    return method
  if not isinstance(method, str):
    raise ValueError(f'attack method must be a string, got {method!r}')
  text = re.sub(r'[\s+_\-]', '', method).upper()
  if not text:
    raise _bad(method, 'it is empty')
  prefixes = sorted(((t, s) for s in parts_lib.OBJECTIVES.specs()
                     for t in ([s.token] if s.token else []) + list(s.aliases)),
                    key=lambda pair: len(pair[0]), reverse=True)
  candidates = [(s.name, text[len(t):]) for t, s in prefixes
                if text.startswith(t)]
  candidates.append((parts_lib.OBJECTIVES.default, text))
  why = None
  for objective, rest in candidates:
    try:
      chosen, trailing_m = _modifiers(rest)
    except ValueError as e:
      why = why or str(e)
      continue
    if objective == parts_lib.OBJECTIVES.default and not trailing_m:
      why = why or 'a cross-entropy method must end in M (as MIM, DIM)'
      continue
    return Parts(objective=objective, **chosen)
  raise _bad(method, why)
