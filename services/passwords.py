"""Passwords for new users and resets: generated with `secrets`, or typed and checked.

The rules are Microsoft Entra ID's password policy for cloud users: 8 to 256 characters, at least
three of the four character classes (lower case, upper case, digits, symbols), only the characters
Entra accepts (no Unicode), and not containing the user name. Messages never echo the password.
"""
from __future__ import annotations

import secrets
import string

MIN_LENGTH = 8
MAX_LENGTH = 256
GENERATED_LENGTH = 16

# Every symbol Entra accepts in a password (plus the blank space, allowed too).
ENTRA_SYMBOLS = "@#$%^&*-_!+=[]{}|\\:',.?/`~\"();<> "
# Symbols used when generating: the ones that survive copy-paste into chats, shells and CSV cells
# unquoted (no quotes, backslash, comma, semicolon or space).
GENERATED_SYMBOLS = "@#$%^&*-_!+=?"
# Letters and digits that are easy to misread (O/0, l/1/I) are left out of generated passwords:
# technicians read them to users over the phone.
_UNAMBIGUOUS_LOWER = "".join(c for c in string.ascii_lowercase if c not in "lo")
_UNAMBIGUOUS_UPPER = "".join(c for c in string.ascii_uppercase if c not in "IO")
_UNAMBIGUOUS_DIGITS = "".join(c for c in string.digits if c not in "01")

CLASSES = {
    "lower-case letters": set(string.ascii_lowercase),
    "upper-case letters": set(string.ascii_uppercase),
    "digits": set(string.digits),
    "symbols": set(ENTRA_SYMBOLS),
}
ALLOWED = set().union(*CLASSES.values())


def generate_password(length: int = GENERATED_LENGTH, username: str | None = None) -> str:
    """A random password of `length` (>= 16) characters with all four character classes."""
    if length < GENERATED_LENGTH or length > MAX_LENGTH:
        raise ValueError(f"generated passwords are {GENERATED_LENGTH} to {MAX_LENGTH} characters long")
    pools = [_UNAMBIGUOUS_LOWER, _UNAMBIGUOUS_UPPER, _UNAMBIGUOUS_DIGITS, GENERATED_SYMBOLS]
    everything = "".join(pools)
    rng = secrets.SystemRandom()
    while True:
        chars = [secrets.choice(pool) for pool in pools]
        chars += [secrets.choice(everything) for _ in range(length - len(pools))]
        rng.shuffle(chars)
        password = "".join(chars)
        # A 16-character random string containing the user name is astronomically unlikely,
        # but the policy forbids it, so the generator honours it like a typed password.
        if check_password(password, username) is None:
            return password


def password_problems(password: str, username: str | None = None) -> list[str]:
    """Every rule a typed password breaks, each saying what to do; [] when it is acceptable."""
    problems: list[str] = []
    if not isinstance(password, str) or not password:
        return ["is empty; type one, or leave it out to have one generated"]
    if len(password) < MIN_LENGTH:
        problems.append(f"is {len(password)} characters long; use at least {MIN_LENGTH}")
    elif len(password) > MAX_LENGTH:
        problems.append(f"is {len(password)} characters long; use at most {MAX_LENGTH}")
    bad = sorted({c for c in password if c not in ALLOWED})
    if bad:
        # Name the kind of character, not the character: the message must not leak the password.
        problems.append(f"contains {len(bad)} kind(s) of character Entra ID does not accept "
                        "(letters outside A-Z, accented or other Unicode characters); use A-Z, a-z, "
                        "0-9 and symbols such as @#$%^&*-_!+=?")
    present = [name for name, chars in CLASSES.items() if any(c in chars for c in password)]
    if len(present) < 3:
        missing = [name for name in CLASSES if name not in present]
        problems.append(f"uses {len(present)} of the 4 character classes; add "
                        f"{' or '.join(missing)} so that at least 3 are present")
    name = (username or "").split("@", 1)[0].strip().lower()
    if len(name) >= 3 and name in password.lower():
        problems.append("contains the user name; choose a password without it")
    return problems


def check_password(password: str, username: str | None = None) -> str | None:
    """One message listing every broken rule, or None when the password is acceptable."""
    problems = password_problems(password, username)
    return "the password " + "; ".join(problems) if problems else None
