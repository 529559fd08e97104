"""Validation of settings: each check names the setting and the value."""

import math
import numbers


class SettingError(ValueError):
  """A setting's bad value; ``name`` is the setting, ``detail`` the rest of
  the message, so a binary can name its flag instead (``--max_epsilon``
  for ``eps``)."""

  def __init__(self, name, detail):
    super().__init__(f'{name} {detail}')
    self.name = name
    self.detail = detail


def check_choice(name, value, allowed):
  if value not in allowed:
    raise SettingError(name, f'must be one of {allowed}, got {value!r}')


def check_int(name, value, low):
  if isinstance(value, bool) or not isinstance(value, numbers.Integral):
    raise SettingError(name, f'must be an integer, got {value!r}')
  if value < low:
    raise SettingError(name, f'must be >= {low}, got {value!r}')


def check_real(name, value, low, low_open=False, high=None):
  if isinstance(value, bool) or not isinstance(value, numbers.Real):
    raise SettingError(name, f'must be a number, got {value!r}')
  if not math.isfinite(value):
    raise SettingError(name, f'must be finite, got {value!r}')
  if value < low or (low_open and value == low):
    op = '>' if low_open else '>='
    raise SettingError(name, f'must be {op} {low}, got {value!r}')
  if high is not None and value > high:
    raise SettingError(name, f'must be <= {high}, got {value!r}')
