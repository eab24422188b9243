"""Passwords: the policy (long enough, not common, not the email; a pure function) and the
argon2id hasher that the settings' password_hash_profile chooses."""

from __future__ import annotations

import functools
from pathlib import Path

from argon2 import PasswordHasher
from flask import current_app
from flask_babel import lazy_gettext as _l

MIN_LENGTH = 12
MAX_LENGTH = 1024
COMMON_PASSWORDS = Path(__file__).resolve().parent.parent / "content" / "common-passwords.txt"

# "strong" is argon2-cffi's default, RFC 9106's low-memory profile (3 passes over 64 MiB, 4
# lanes); "fast" costs almost nothing, for the test suite only (production refuses it).
HASHERS: dict[str, PasswordHasher] = {
    "strong": PasswordHasher(),
    "fast": PasswordHasher(time_cost=1, memory_cost=8, parallelism=1),
}


def password_hasher() -> PasswordHasher:
    """The argon2id hasher of the running app's settings."""
    return HASHERS[current_app.config["SETTINGS"].password_hash_profile]


@functools.cache
def _common() -> frozenset[str]:
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip())


def password_problems(password: str, email: str = "") -> list[str]:
    """Why `password` is not acceptable (an empty list when it is)."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(_l("Use at least %(n)s characters.", n=MIN_LENGTH))
    if len(password) > MAX_LENGTH:
        problems.append(_l("Use at most %(n)s characters.", n=MAX_LENGTH))
    lowered = password.lower()
    local_part = email.split("@", 1)[0].lower()
    if lowered in _common() or len(set(lowered)) < 5:
        problems.append(_l("This password is too common or too easy to guess."))
    elif local_part and len(local_part) >= 4 and local_part in lowered:
        problems.append(_l("Do not build your password from your email address."))
    return [str(problem) for problem in problems]
