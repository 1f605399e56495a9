import pytest
from django import forms
from django.core.exceptions import ValidationError

from ikbt.patients.personal_number import (
    PersonalNumberField,
    format_personal_number,
    luhn_check_digit,
    make_personal_number,
    normalise_personal_number,
)

# 19121212-1212 is Skatteverket's published example of a valid number.
VALID = "191212121212"


@pytest.mark.parametrize(
    "written", ["19121212-1212", "191212121212", " 19121212 - 1212 ", "121212+1212"]
)
def test_usual_ways_of_writing_normalise_to_twelve_digits(written):
    assert normalise_personal_number(written) == VALID


def test_ten_digits_take_the_century_of_the_most_recent_birth_date():
    assert normalise_personal_number("121212-1212") == "201212121212"
    assert normalise_personal_number("1212121212") == "201212121212"


def test_coordination_number_with_day_plus_sixty_is_valid():
    number = make_personal_number("19850374", 123)  # 14 March 1985 as a coordination number
    assert normalise_personal_number(number) == number


def error_code(value: str) -> str:
    with pytest.raises(ValidationError) as caught:
        normalise_personal_number(value)
    return caught.value.code


@pytest.mark.parametrize("value", ["", "abc", "19121212-121", "1912121212123", "19121212/1212"])
def test_malformed_input_says_how_to_write_it(value):
    assert error_code(value) == "format"


def test_wrong_check_digit_is_named():
    assert error_code("19121212-1213") == "check_digit"


@pytest.mark.parametrize("value", ["19850230-1234", "19851301-1234", "19850100-1234"])
def test_impossible_date_is_named(value):
    assert error_code(value) == "date"


def test_birth_date_in_the_future_is_refused():
    assert error_code(make_personal_number("20991231", 123)) == "future"


def test_luhn_check_digit_matches_skatteverket_example():
    assert luhn_check_digit("121212121") == "2"


def test_display_form_has_a_hyphen():
    assert format_personal_number(VALID) == "19121212-1212"


class NumberForm(forms.Form):
    number = PersonalNumberField()


def test_form_field_cleans_and_keeps_bad_input_with_a_clear_message():
    good = NumberForm(data={"number": "19121212-1212"})
    assert good.is_valid()
    assert good.cleaned_data["number"] == VALID

    bad = NumberForm(data={"number": "19121212-1213"})
    assert not bad.is_valid()
    assert bad.errors["number"] == [
        "The last digit (check digit) does not match. Check the number for typos."
    ]
    assert 'value="19121212-1213"' in str(bad["number"])
