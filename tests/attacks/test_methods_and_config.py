"""Method parsing and configuration validation."""

import pytest

import fia_tf
from fia_tf.attacks import methods

ORIGINAL = {
    'MIM': ('ce', 'none', 'none', 'momentum'),
    'DIM': ('ce', 'di', 'none', 'momentum'),
    'TIM': ('ce', 'none', 'ti', 'momentum'),
    'PIM': ('ce', 'none', 'none', 'pi'),
    'TIDIM': ('ce', 'di', 'ti', 'momentum'),
    'PIDIM': ('ce', 'di', 'none', 'pi'),
    'NRDM': ('nrdm', 'none', 'none', 'momentum'),
    'FDA': ('fda', 'none', 'none', 'momentum'),
    'FIA': ('fia', 'none', 'none', 'momentum'),
    'FIAPI': ('fia', 'none', 'none', 'pi'),
    'FIADI': ('fia', 'di', 'none', 'momentum'),
    'FIAPIDIM': ('fia', 'di', 'none', 'pi'),
    'FIATIDIM': ('fia', 'di', 'ti', 'momentum'),
    'FIA+PIDIM': ('fia', 'di', 'none', 'pi'),
    'fia-ti-pi-di': ('fia', 'di', 'ti', 'pi'),
}


@pytest.mark.parametrize('name', sorted(ORIGINAL))
def test_original_method_strings_parse_into_parts(name):
  parts = methods.parse_method(name)
  got = (parts.objective, parts.input_transform, parts.gradient_transform,
         parts.update)
  assert got == ORIGINAL[name]
  assert methods.parse_method(parts.name) == parts


@pytest.mark.parametrize('name', ['', 'MI', 'FOO', 'DIMM', 'MIMIM', 'FIAX',
                                  'DIDIM', 'TIFIA', 'FIAFIA', 'CE'])
def test_unknown_method_strings_are_errors_naming_them(name):
  with pytest.raises(ValueError, match='unknown attack method'):
    methods.parse_method(name)


def test_no_substring_matching():
  # The original's "'DI' in name" would read 'MIDI' as DI; here it is an error
  # because a cross-entropy method must end in M.
  with pytest.raises(ValueError):
    methods.parse_method('MIDI')


@pytest.mark.parametrize('field,value', [
    ('eps', -1.0), ('eps', float('nan')), ('alpha', 0.0), ('alpha', -0.5),
    ('num_iter', 0), ('num_iter', 2.5), ('keep_prob', 0.0), ('keep_prob', 1.5),
    ('ens', -1), ('momentum', -1.0), ('di_prob', 1.2), ('tkern_size', 0),
    ('pkern_size', 4), ('seed', -3), ('clip', 'sometimes'), ('domain', 'x'),
    ('ce_labels', 'mine'), ('mask_batch', 0), ('method', 'XYZ'),
    ('jit_compile', 'yes'),
])
def test_invalid_settings_name_argument_and_value(field, value):
  with pytest.raises(ValueError) as info:
    fia_tf.AttackConfig(**{field: value})
  message = str(info.value)
  assert field in message or 'attack method' in message
  assert repr(value) in message or str(value) in message


def test_keep_prob_one_is_valid_and_config_round_trips():
  config = fia_tf.AttackConfig(method='FIA+PIDIM', keep_prob=1.0, eps=8)
  again = fia_tf.AttackConfig.from_dict(config.to_dict())
  assert again == config
  assert again.parts == methods.parse_method('FIAPIDIM')


def test_di_resize_defaults():
  config = fia_tf.AttackConfig()
  assert config.di_resize(224) == 250
  assert config.di_resize(299) == 330
  with pytest.raises(ValueError, match='image_resize'):
    fia_tf.AttackConfig(image_resize=200).di_resize(224)
