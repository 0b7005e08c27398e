"""Claiming an inbound opt-out keyword (filled in by this package's work)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from centralita.conversations.models import Conversation, Message
from centralita.tenants.models import Tenant


async def claim_opt_out(
    session: AsyncSession,
    *,
    tenant: Tenant,
    conversation: Conversation,
    message: Message,
    now: datetime,
) -> bool:
    """True when ``message`` was an opt-out (or opt-in) keyword and was handled here."""
    return False
