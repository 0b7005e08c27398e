"""Channel account use cases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from centralita.channels.base import AccountConfig
from centralita.channels.models import ChannelAccount, ImapMailboxState
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


# ---- email accounts: who a mail is for, how far a mailbox has been read -----------------


async def mail_accounts_for(
    session: AsyncSession, *, provider: str, address: str
) -> list[ChannelAccount]:
    """Enabled email accounts of ``provider`` with this address (any letter case), across
    tenants: the SMTP receiver's RCPT TO check. Disabled tenants receive nothing."""
    stmt = (
        select(ChannelAccount)
        .join(Tenant, Tenant.id == ChannelAccount.tenant_id)
        .where(
            ChannelAccount.provider == provider,
            ChannelAccount.kind == "email",
            ChannelAccount.enabled.is_(True),
            Tenant.disabled.is_(False),
            func.lower(ChannelAccount.address) == address.strip().lower(),
        )
        .order_by(ChannelAccount.id)
    )
    return list((await session.scalars(stmt)).all())


async def list_enabled_accounts(session: AsyncSession, *, provider: str) -> list[ChannelAccount]:
    """Enabled accounts of ``provider`` of enabled tenants, across tenants (pollers)."""
    stmt = (
        select(ChannelAccount)
        .join(Tenant, Tenant.id == ChannelAccount.tenant_id)
        .where(
            ChannelAccount.provider == provider,
            ChannelAccount.enabled.is_(True),
            Tenant.disabled.is_(False),
        )
        .order_by(ChannelAccount.id)
    )
    return list((await session.scalars(stmt)).all())


# The IMAP reading state is bookkeeping of the poller, not a business fact: no event.


async def claim_mailbox(
    session: AsyncSession,
    *,
    account: AccountConfig,
    folder: str,
    now: datetime,
    lease: timedelta,
) -> ImapMailboxState | None:
    """The account's reading state, leased to this poller for ``lease``; None when another
    poller holds it. A conditional update, so two processes never read one mailbox at once."""
    state = await session.get(ImapMailboxState, account.id)
    if state is None:
        try:
            async with session.begin_nested():
                session.add(
                    ImapMailboxState(
                        channel_account_id=account.id, tenant_id=account.tenant_id, folder=folder
                    )
                )
        except IntegrityError:
            pass  # another poller created it a moment ago; the lease below decides
    if state is not None and state.folder != folder:  # another folder: its UIDs start over
        state.folder, state.uidvalidity, state.last_uid = folder, 0, 0
        await session.flush()
    S = ImapMailboxState
    result = await session.execute(
        update(S)
        .where(
            S.channel_account_id == account.id,
            or_(S.lease_until.is_(None), S.lease_until < now),
        )
        .values(lease_until=now + lease)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        return None
    claimed = await session.get(ImapMailboxState, account.id, populate_existing=True)
    return claimed


async def record_mailbox_progress(
    session: AsyncSession,
    *,
    account_id: str,
    uidvalidity: int,
    uid: int,
    skipped_error: str | None = None,
) -> None:
    """The mail with ``uid`` is done: stored (and committed), or skipped for good."""
    state = await session.get(ImapMailboxState, account_id)
    if state is None:
        return
    if state.uidvalidity != uidvalidity:
        state.uidvalidity, state.last_uid = uidvalidity, 0
    state.last_uid = max(state.last_uid, uid)
    if skipped_error is not None:
        state.skipped += 1
        state.last_error = f"UID {uid}: {skipped_error}"[:2000]


async def release_mailbox(
    session: AsyncSession, *, account_id: str, now: datetime, error: str | None = None
) -> None:
    """The poll is over; ``error`` says why it stopped early (the server, the database)."""
    state = await session.get(ImapMailboxState, account_id)
    if state is None:
        return
    state.lease_until = None
    state.polled_at = now
    if error is not None:
        state.last_error = error[:2000]
