"""Progress lines with rate and ETA for long runs (attacks, evaluations).

:class:`Progress` logs ``done/total``, the rate and the time left at most
every ``every`` seconds through absl logging (or any ``log`` callable).
Items found already done (a resumed run, cached predictions) count towards
``done`` but not towards the rate, so the ETA reflects the work left.
"""

import time

from absl import logging


def format_seconds(seconds):
  """``3h02m``, ``4m05s`` or ``12s``."""
  seconds = int(round(seconds))
  hours, rest = divmod(seconds, 3600)
  minutes, secs = divmod(rest, 60)
  if hours:
    return f'{hours}h{minutes:02d}m'
  if minutes:
    return f'{minutes}m{secs:02d}s'
  return f'{secs}s'


class Progress:
  """Counts work done and reports it with an ETA.

  Args:
    total: units of work in all.
    what: what is being done (the start of each line).
    every: seconds between lines (the last line is always written).
    unit: name of the unit (``'images'``, ``'predictions'``).
    log: ``log(line)``; default: ``absl.logging.info``.
  """

  def __init__(self, total, what, every=10.0, unit='images', log=None):
    self.total, self.what, self.every, self.unit = total, what, every, unit
    self._log = log or (lambda line: logging.info('%s', line))
    self.done = self.worked = 0
    self.start = self._last = time.monotonic()

  def skip(self, count):
    """``count`` units found already done."""
    self.done += count

  def update(self, count, note=''):
    """``count`` units just done; logs when due (``note`` is appended)."""
    self.done += count
    self.worked += count
    now = time.monotonic()
    if now - self._last >= self.every or self.done >= self.total:
      self._last = now
      self.log(note)

  @property
  def rate(self):
    elapsed = time.monotonic() - self.start
    return self.worked / elapsed if elapsed > 0 else 0.0

  @property
  def elapsed(self):
    return time.monotonic() - self.start

  def line(self, note=''):
    rate = self.rate
    left = self.total - self.done
    eta = format_seconds(left / rate) if rate > 0 else '?'
    percent = 100.0 * self.done / max(self.total, 1)
    text = (f'{self.what}: {self.done}/{self.total} {self.unit} '
            f'({percent:.0f}%), {rate:.3g} {self.unit}/s, elapsed '
            f'{format_seconds(self.elapsed)}, ETA {eta}')
    return f'{text}; {note}' if note else text

  def log(self, note=''):
    self._log(self.line(note))
