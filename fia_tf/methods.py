"""Attack methods as choices of parts, and the parser for the original names.

An attack is one loop assembled from four parts (see :mod:`fia_tf.attack`):

* an objective: ``ce`` (cross-entropy), ``fia``, ``nrdm`` or ``fda``;
* an input transform: ``none`` or ``di`` (input diversity);
* a gradient transform: ``none`` or ``ti`` (translation-invariant smoothing);
* an update rule: ``momentum`` (MI-FGSM sign step) or ``pi`` (patch-wise).

The original code picks parts by substring tests on the method name
(``'DI' in attack_method``), which makes ``'FIADI'`` and ``'MIDI'`` mean
surprising things and accepts any typo. Here a name is parsed: an optional
objective prefix (``FIA``, ``NRDM``, ``FDA``; none means cross-entropy),
then any of the tokens ``MI``, ``DI``, ``TI``, ``PI`` at most once each, then
an optional trailing ``M`` (the "Method" of MIM/DIM/TIM/PIM). ``+``, ``-``,
``_`` and spaces are ignored and case does not matter, so ``FIA+PIDIM``,
``fia-pi-di`` and ``FIAPIDIM`` are the same attack.
"""

import dataclasses
import re

OBJECTIVES = ('ce', 'fia', 'nrdm', 'fda')
INPUT_TRANSFORMS = ('none', 'di')
GRADIENT_TRANSFORMS = ('none', 'ti')
UPDATE_RULES = ('momentum', 'pi')

_OBJECTIVE_PREFIXES = (('NRDM', 'nrdm'), ('FIA', 'fia'), ('FDA', 'fda'))
_TOKENS = ('MI', 'DI', 'TI', 'PI')


@dataclasses.dataclass(frozen=True)
class Parts:
  """The parts of one attack."""
  objective: str = 'ce'
  input_transform: str = 'none'
  gradient_transform: str = 'none'
  update: str = 'momentum'

  def __post_init__(self):
    for field, allowed in (('objective', OBJECTIVES),
                           ('input_transform', INPUT_TRANSFORMS),
                           ('gradient_transform', GRADIENT_TRANSFORMS),
                           ('update', UPDATE_RULES)):
      value = getattr(self, field)
      if value not in allowed:
        raise ValueError(f'{field} must be one of {allowed}, got {value!r}')

  @property
  def name(self):
    """A canonical method name that parses back to these parts."""
    prefix = '' if self.objective == 'ce' else self.objective.upper()
    tokens = ''
    if self.gradient_transform == 'ti':
      tokens += 'TI'
    if self.update == 'pi':
      tokens += 'PI'
    if self.input_transform == 'di':
      tokens += 'DI'
    if not prefix and not tokens:
      tokens = 'MI'
    return prefix + tokens + ('M' if not prefix or tokens else '')


def _bad(method, why):
  return ValueError(
      f'unknown attack method {method!r}: {why}. A method is an optional '
      'objective (FIA, NRDM or FDA; none means cross-entropy) followed by '
      'any of MI, DI, TI, PI and an optional final M, e.g. MIM, DIM, TIM, '
      'PIM, TIDIM, NRDM, FDA, FIA, FIAPI, FIAPIDIM, FIA+TIDIM')


def parse_method(method):
  """Parses an original-style method string into :class:`Parts`.

  Args:
    method: e.g. ``'MIM'``, ``'TIDIM'``, ``'FIA'``, ``'FIA+PIDIM'``.

  Returns:
    The :class:`Parts` of the attack.

  Raises:
    ValueError: for a string that is not a valid method, naming it.
  """
  if isinstance(method, Parts):
    return method
  if not isinstance(method, str):
    raise ValueError(f'attack method must be a string, got {method!r}')
  text = re.sub(r'[\s+_\-]', '', method).upper()
  if not text:
    raise _bad(method, 'it is empty')
  objective = 'ce'
  for prefix, name in _OBJECTIVE_PREFIXES:
    if text.startswith(prefix):
      objective, text = name, text[len(prefix):]
      break
  seen = []
  while len(text) >= 2 and text[:2] in _TOKENS:
    token = text[:2]
    if token in seen:
      raise _bad(method, f'{token} appears twice')
    seen.append(token)
    text = text[2:]
  if text == 'M':
    text = ''
  elif text:
    raise _bad(method, f'cannot read {text!r}')
  elif objective == 'ce':
    raise _bad(method, 'a cross-entropy method must end in M (as MIM, DIM)')
  return Parts(
      objective=objective,
      input_transform='di' if 'DI' in seen else 'none',
      gradient_transform='ti' if 'TI' in seen else 'none',
      update='pi' if 'PI' in seen else 'momentum')
