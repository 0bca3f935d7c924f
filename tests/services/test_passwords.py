"""Password generation and the Entra password rules for typed passwords."""
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.passwords import (ALLOWED, GENERATED_LENGTH, check_password, generate_password,
                                password_problems)


def classes(pw):
    return sum(any(c in chars for c in pw) for chars in (string.ascii_lowercase, string.ascii_uppercase,
                                                         string.digits, set(ALLOWED) - set(string.ascii_letters + string.digits)))


def test_generated_passwords_are_long_complex_and_different():
    seen = {generate_password() for _ in range(200)}
    assert len(seen) == 200
    for pw in seen:
        assert len(pw) >= GENERATED_LENGTH
        assert classes(pw) == 4
        assert check_password(pw) is None


def test_generated_password_avoids_the_user_name_and_accepts_longer_lengths():
    pw = generate_password(32, username="ab2@contoso.com")
    assert len(pw) == 32 and "ab2" not in pw.lower()
    with pytest.raises(ValueError):
        generate_password(12)


@pytest.mark.parametrize("pw, fragment", [
    ("Ab1!", "at least 8"),
    ("a" * 257, "at most 256"),
    ("alllowercase", "of the 4 character classes"),       # one class only
    ("lowerUPPERonly", "of the 4 character classes"),     # two classes
    ("Pässwörd123!", "does not accept"),
    ("xxJane.Doe99!", "user name"),
    ("", "is empty"),
])
def test_typed_passwords_breaking_a_rule_say_which(pw, fragment):
    message = check_password(pw, "jane.doe")
    assert message and fragment in message
    if pw:
        assert pw not in message          # the message never echoes the password


def test_every_broken_rule_is_listed_at_once():
    problems = password_problems("jané", "x")
    assert len(problems) == 3             # too short, Unicode, one class


@pytest.mark.parametrize("pw", ["Summer2026!", "correct horse Battery", "ABCdef123", "p@ss w0rd"])
def test_acceptable_typed_passwords(pw):
    assert check_password(pw, "jane.doe@contoso.com") is None


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(sorted(ALLOWED)), min_size=8, max_size=64))
def test_rule_check_agrees_with_class_count(pw):
    ok = check_password(pw, None) is None
    assert ok == (classes(pw) >= 3)
