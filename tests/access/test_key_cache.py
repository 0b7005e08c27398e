"""The per-process cache of verified API-key principals: its bound and its forgetting."""

from __future__ import annotations

import pytest

from centralita.access.key_cache import PrincipalCache
from centralita.access.models import Role
from centralita.access.principal import Principal

KEY = Principal(tenant_id="tn_1", role=Role.SUPERVISOR, api_key_id="key_1")


@pytest.mark.parametrize(
    ("stored_at", "asked_at", "found"),
    [
        (100.0, 100.0, True),
        (100.0, 104.9, True),
        (100.0, 105.0, False),  # the bound is the TTL, exactly
        (100.0, 500.0, False),
    ],
)
def test_an_entry_lives_for_the_ttl(stored_at: float, asked_at: float, found: bool) -> None:
    cache = PrincipalCache(ttl=5.0)
    cache.put("d1", KEY, now=stored_at, generation=cache.generation)
    assert (cache.get("d1", now=asked_at) == KEY) is found


def test_an_expired_entry_is_dropped() -> None:
    cache = PrincipalCache(ttl=5.0)
    cache.put("d1", KEY, now=0.0, generation=0)
    assert cache.get("d1", now=6.0) is None
    assert len(cache) == 0


def test_forget_all_forgets_and_refuses_answers_read_before_it() -> None:
    cache = PrincipalCache(ttl=5.0)
    cache.put("d1", KEY, now=0.0, generation=cache.generation)
    began = cache.generation  # a verification starts reading the database...
    cache.forget_all()  # ...a revocation commits meanwhile
    assert cache.get("d1", now=0.0) is None
    cache.put("d2", KEY, now=0.0, generation=began)
    assert cache.get("d2", now=0.0) is None  # its answer may predate the revocation
    cache.put("d2", KEY, now=0.0, generation=cache.generation)
    assert cache.get("d2", now=0.0) == KEY


def test_a_zero_ttl_turns_the_cache_off() -> None:
    cache = PrincipalCache(ttl=0)
    cache.put("d1", KEY, now=0.0, generation=0)
    assert cache.get("d1", now=0.0) is None


def test_the_oldest_entry_makes_room() -> None:
    cache = PrincipalCache(ttl=5.0, max_entries=2)
    for n in range(3):
        cache.put(f"d{n}", KEY, now=0.0, generation=0)
    assert len(cache) == 2
    assert cache.get("d0", now=0.0) is None
    assert cache.get("d2", now=0.0) == KEY
