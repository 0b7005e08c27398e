"""Salted hashes of addresses: how an opt-out outlives the contact it was about.

Erasing a contact who had opted out would otherwise let a later import or a new first message
from the same number bring them back into a campaign. The ledger keeps ``sha256:<hex>`` of
``salt + address`` instead of the address; the salt is random per tenant and stored once.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from centralita.core.clock import utcnow
from centralita.privacy.models import SuppressionSalt

PREFIX = "sha256:"


def hash_address(salt: str, value: str) -> str:
    return PREFIX + hashlib.sha256(f"{salt}\x00{value.strip().lower()}".encode()).hexdigest()


async def tenant_salt(
    session: AsyncSession, *, tenant_id: str, create: bool = False, now: datetime | None = None
) -> str | None:
    """The tenant's salt; ``None`` when it has none yet (no erased opt-out to look for)."""
    salt = await session.scalar(
        select(SuppressionSalt.salt).where(SuppressionSalt.tenant_id == tenant_id)
    )
    if salt is not None or not create:
        return salt
    try:
        async with session.begin_nested():
            session.add(
                SuppressionSalt(
                    tenant_id=tenant_id, salt=secrets.token_hex(32), created_at=now or utcnow()
                )
            )
    except IntegrityError:  # a concurrent erasure in the same tenant made it first
        pass
    return await session.scalar(
        select(SuppressionSalt.salt).where(SuppressionSalt.tenant_id == tenant_id)
    )


async def address_hashes(
    session: AsyncSession, *, tenant_id: str, values: Iterable[str]
) -> dict[str, str]:
    """Map each address value to its hash (empty when the tenant never erased an opt-out)."""
    salt = await tenant_salt(session, tenant_id=tenant_id)
    if salt is None:
        return {}
    return {v: hash_address(salt, v) for v in values}
