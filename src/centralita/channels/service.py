"""Channel account use cases."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from centralita.channels.base import AccountConfig
from centralita.channels.models import ChannelAccount
from centralita.core.errors import NotFound
from centralita.core.ids import looks_like_id
from centralita.db.scoped import get_scoped
from centralita.tenants.models import Tenant


def to_config(account: ChannelAccount) -> AccountConfig:
    return AccountConfig(
        id=account.id,
        tenant_id=account.tenant_id,
        kind=account.kind,
        provider=account.provider,
        address=account.address,
        secret=account.secret,
        settings=dict(account.settings or {}),
    )


@dataclass(frozen=True)
class IngressTarget:
    account: ChannelAccount
    reopen_window_hours: int
    locale: str


async def get_for_ingress(session: AsyncSession, *, account_id: str) -> IngressTarget:
    """The account and what ingest needs of its tenant, in one query.

    Providers are not tenant users: the unguessable account id plus its signature decide.
    """
    row = None
    if looks_like_id(account_id):
        row = (
            await session.execute(
                select(ChannelAccount, Tenant.reopen_window_hours, Tenant.locale)
                .join(Tenant, Tenant.id == ChannelAccount.tenant_id)
                .where(
                    ChannelAccount.id == account_id,
                    ChannelAccount.enabled.is_(True),
                    Tenant.disabled.is_(False),
                )
            )
        ).first()
    if row is None:
        raise NotFound(f"channel account {account_id} not found")
    return IngressTarget(row[0], row[1], row[2])


async def get_account(session: AsyncSession, *, tenant_id: str, account_id: str) -> ChannelAccount:
    return await get_scoped(
        session, ChannelAccount, tenant_id=tenant_id, id=account_id, label="channel account"
    )


async def list_simulator_accounts(session: AsyncSession) -> list[ChannelAccount]:
    """Enabled accounts of the built-in simulator, across tenants (for the /simulator page)."""
    stmt = select(ChannelAccount).where(
        ChannelAccount.provider == "simulator", ChannelAccount.enabled.is_(True)
    )
    return list((await session.scalars(stmt.order_by(ChannelAccount.id))).all())
