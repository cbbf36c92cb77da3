"""Password hashing with argon2id, and the rules a new password must pass."""

import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app

from marketplace.limits import PASSWORD_LENGTH

MIN_LENGTH = 8
MAX_LENGTH = PASSWORD_LENGTH


def _hasher():
    time_cost, memory_cost, parallelism = current_app.config["PASSWORD_HASH_PARAMS"]
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)


def hash_password(password):
    return _hasher().hash(password)


def verify_password(password_hash, password):
    try:
        return _hasher().verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def spend_verify_time(password):
    """Do the work of a verification, so an unknown email takes as long as a wrong password."""
    verify_password(_dummy_hash(), password)


def _dummy_hash():
    cache = current_app.extensions.setdefault("password_dummy_hash", {})
    key = current_app.config["PASSWORD_HASH_PARAMS"]
    if key not in cache:
        cache[key] = hash_password("not-a-real-password")
    return cache[key]


@functools.cache
def _common_passwords():
    """The 30,000 most used passwords, from the lists zxcvbn ships (leaked-password data)."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def is_common(password):
    return password.strip().lower() in _common_passwords()


def resembles_email(password, email):
    """The password is the email address, or its name part (whatever the case)."""
    candidate = password.strip().lower()
    email = (email or "").strip().lower()
    local_part = email.partition("@")[0]
    return candidate == email or (len(local_part) >= MIN_LENGTH and candidate == local_part)
