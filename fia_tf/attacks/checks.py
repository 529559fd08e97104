"""Validation of settings: each check names the setting and the value."""

import math
import numbers


def check_choice(name, value, allowed):
  if value not in allowed:
    raise ValueError(f'{name} must be one of {allowed}, got {value!r}')


def check_int(name, value, low):
  if isinstance(value, bool) or not isinstance(value, numbers.Integral):
    raise ValueError(f'{name} must be an integer, got {value!r}')
  if value < low:
    raise ValueError(f'{name} must be >= {low}, got {value!r}')


def check_real(name, value, low, low_open=False, high=None):
  if isinstance(value, bool) or not isinstance(value, numbers.Real):
    raise ValueError(f'{name} must be a number, got {value!r}')
  if not math.isfinite(value):
    raise ValueError(f'{name} must be finite, got {value!r}')
  if value < low or (low_open and value == low):
    op = '>' if low_open else '>='
    raise ValueError(f'{name} must be {op} {low}, got {value!r}')
  if high is not None and value > high:
    raise ValueError(f'{name} must be <= {high}, got {value!r}')
