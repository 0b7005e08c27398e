"""Argon2 password hashing; cheap parameters exist for tests only."""

from __future__ import annotations

from functools import cache

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

_STRONG = PasswordHash((Argon2Hasher(),))
_CHEAP = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))


@cache
def _dummy_hash() -> str:
    """Verifying against it keeps unknown-user logins as slow as wrong passwords.

    Computed on first use, not at import: every process and CLI call would pay ~0.2 s.
    """
    return _STRONG.hash("centralita-dummy-password")


def hasher(cheap: bool = False) -> PasswordHash:
    return _CHEAP if cheap else _STRONG


def hash_password(password: str, *, cheap: bool = False) -> str:
    return hasher(cheap).hash(password)


def verify_password(password: str, hashed: str | None) -> bool:
    if not hashed:
        _STRONG.verify(password, _dummy_hash())
        return False
    return _STRONG.verify(password, hashed)
