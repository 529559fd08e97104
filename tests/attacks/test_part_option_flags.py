"""``--option=NAME=VALUE``: the binaries' spelling of part options."""

import pytest

import fia_tf
from fia_tf import cli
from fia_tf.cli import flags as flags_lib


def test_values_are_typed_and_names_kept():
  assert flags_lib.part_options([
      'bfa_eta=21', 'naa_gamma=0.5', 'x=1e-3', 'rpa_masks=patch',
      'flag=True', ' spaced = 2 ']) == {
          'bfa_eta': 21, 'naa_gamma': 0.5, 'x': 1e-3, 'rpa_masks': 'patch',
          'flag': True, 'spaced': 2}
  assert flags_lib.part_options([]) == {}


@pytest.mark.parametrize('values,message', [
    (['bfa_eta'], "--option must be NAME=VALUE, got 'bfa_eta'"),
    (['=3'], "--option must be NAME=VALUE, got '=3'"),
    (['bfa_eta=1', 'bfa_eta=2'], '--option bfa_eta is given twice'),
])
def test_malformed_values_are_refused(values, message):
  with pytest.raises(ValueError, match=message):
    flags_lib.part_options(values)


def test_parsed_options_reach_the_config_and_errors_name_the_flag():
  options = flags_lib.part_options(['bfa_eta=3.5'])
  config = fia_tf.AttackConfig(method='BFA', options=options)
  assert config.option('bfa_eta') == 3.5
  bad = flags_lib.part_options(['bfa_eta=-1'])
  with pytest.raises(ValueError,
                     match=r'^--option bfa_eta must be >= 0\.0, got -1$'):
    with cli.flag_names(flags_lib.option_flags(bad)):
      fia_tf.AttackConfig(method='BFA', options=bad)
