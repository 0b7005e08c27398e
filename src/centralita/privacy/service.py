"""Privacy use cases: export a contact, erase one (block, then destroy), apply retention.

Blocking (LOPDGDD art. 32) takes the contact out of every live table at once, in one
transaction (``privacy.erasure``), and keeps an encrypted copy of its export for legal claims
(``privacy.seal``) until ``destroy_after``; destroying deletes that copy. Asked with
``destroy_now``, no copy is kept at all. See docs/privacy.md.
"""

from __future__ import annotations

import logging
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from centralita.audit import service as audit_service
from centralita.campaigns import optouts
from centralita.campaigns.models import OptOut
from centralita.contacts import service as contacts_service
from centralita.core.blobs import BlobStore
from centralita.core.errors import Conflict, InvalidInput, NotFound
from centralita.core.ids import looks_like_id, new_id
from centralita.events import outbox
from centralita.privacy import erasure, export, retention
from centralita.privacy.events import (
    ContactErasureBlocked,
    ContactErasureDestroyed,
    RetentionApplied,
)
from centralita.privacy.models import GROUNDS, ErasureRequest
from centralita.privacy.seal import SealedStore
from centralita.privacy.streams import scrub_redis
from centralita.privacy.suppression import address_hashes, hash_address, tenant_salt
from centralita.tenants import service as tenants_service
from centralita.tenants.config.export import tenant_document

log = logging.getLogger(__name__)

__all__ = ["address_hashes", "block_contact", "destroy", "export_contact", "sealed_store"]


def sealed_store(data_dir: Path, secret_key: str) -> SealedStore:
    return SealedStore(data_dir / "sealed", secret_key)


# ---- export ------------------------------------------------------------------------------


async def _live_contact(session: AsyncSession, *, tenant_id: str, contact_id: str) -> Any:
    contact = await contacts_service.get_contact(
        session, tenant_id=tenant_id, contact_id=contact_id
    )
    if contact.merged_into_id == erasure.TOMBSTONE_MARK:
        raise NotFound(f"contact {contact_id} not found")
    return contact


async def export_contact(
    session: AsyncSession,
    *,
    tenant_id: str,
    contact_id: str,
    blobs: BlobStore | None,
    actor: str,
    now: datetime,
) -> bytes:
    """The contact's archive (``privacy.export``); the export itself is audited."""
    contact = await _live_contact(session, tenant_id=tenant_id, contact_id=contact_id)
    records = await export.collect(session, tenant_id=tenant_id, contact_id=contact.id)
    data = export.build_zip(
        records, tenant_id=tenant_id, contact_id=contact.id, generated_at=now, blobs=blobs
    )
    audit_service.record(
        session,
        tenant_id=tenant_id,
        actor=actor,
        action="contact.exported",
        object_type="contact",
        object_id=contact.id,
        data={"bytes": len(data)},
    )
    return data


async def consent(session: AsyncSession, *, tenant_id: str, contact_id: str) -> dict[str, Any]:
    """The contact's consent flags, the ledger's state per channel and the ledger itself."""
    contact = await _live_contact(session, tenant_id=tenant_id, contact_id=contact_id)
    return {
        "contact_id": contact.id,
        "flags": dict(contact.consent or {}),
        "channels": await optouts.channel_states(
            session, tenant_id=tenant_id, contact_id=contact.id
        ),
        "ledger": await optouts.contact_ledger(session, tenant_id=tenant_id, contact_id=contact.id),
    }


# ---- erasure -----------------------------------------------------------------------------


async def _opted_out_channels(
    session: AsyncSession, *, tenant_id: str, contact_id: str
) -> list[str]:
    states = await optouts.channel_states(session, tenant_id=tenant_id, contact_id=contact_id)
    return [channel for channel, state in states.items() if state == "opted_out"]


def _forget_derived() -> None:
    """In-process caches keyed by what people wrote (spam feedback embeddings)."""
    spam = sys.modules.get("centralita.receptionist.nlu.spam")
    cached = getattr(spam, "_feedback_vector", None)
    if cached is not None and hasattr(cached, "cache_clear"):
        cached.cache_clear()


async def block_contact(
    session: AsyncSession,
    *,
    tenant_id: str,
    contact_id: str,
    actor: str,
    now: datetime,
    sealed: SealedStore,
    blobs: BlobStore | None,
    redis_url: str = "",
    ground: str = "request",
    destroy_now: bool = False,
) -> ErasureRequest:
    """Erase a contact from the live data now; keep a sealed copy for the blocking period
    (none with ``destroy_now``). An opt-out survives as salted hashes of its addresses."""
    if ground not in GROUNDS:
        raise InvalidInput.for_field("ground", f"use one of {', '.join(GROUNDS)}")
    contact = await _live_contact(session, tenant_id=tenant_id, contact_id=contact_id)
    if contact.merged_into_id is not None:
        raise Conflict(
            f"contact {contact.id} was merged into {contact.merged_into_id}; erase that contact"
        )
    tenant = await tenants_service.get_tenant(session, tenant_id=tenant_id)
    policy = tenant_document(tenant).privacy
    subject = await erasure.load_subject(session, tenant_id=tenant_id, contact=contact)
    request = ErasureRequest(
        id=new_id("era"),
        tenant_id=tenant_id,
        contact_id=contact.id,
        status="blocked",
        requested_by=actor,
        ground=ground,
        blocked_at=now,
        destroy_after=now if destroy_now else now + timedelta(days=policy.erasure_block_days),
        summary={},
    )
    if not destroy_now and policy.erasure_block_days > 0:
        records = await export.collect(session, tenant_id=tenant_id, contact_id=contact.id)
        archive = export.build_zip(
            records, tenant_id=tenant_id, contact_id=contact.id, generated_at=now, blobs=blobs
        )
        request.sealed_file = sealed.put(tenant_id, request.id, archive)
    out_channels = await _opted_out_channels(session, tenant_id=tenant_id, contact_id=contact.id)

    counts = await erasure.scrub_by_reference(session, subject, blobs=blobs, now=now)
    if out_channels and subject.addresses:
        salt = await tenant_salt(session, tenant_id=tenant_id, create=True, now=now)
        assert salt is not None
        for value in sorted({v for _, v in subject.addresses}):
            for channel in out_channels:
                session.add(
                    OptOut(
                        id=new_id("opt"),
                        tenant_id=tenant_id,
                        contact_id=None,
                        address=hash_address(salt, value),
                        channel=channel,
                        action="opt_out",
                        source="erasure",
                        actor=actor,
                        at=now,
                    )
                )
                counts["suppressed"] += 1
    await session.flush()
    counts.update(await erasure.sweep(session, subject))
    try:
        counts["redis"] += await scrub_redis(redis_url, subject.needles)
    except Exception:  # Redis down: the data in it ages out (the stream is capped); say so
        log.exception("erasure %s: Redis could not be scrubbed", request.id)
        counts["redis_failed"] += 1
    _forget_derived()
    request.summary = dict(sorted(counts.items()))
    session.add(request)
    await session.flush()
    outbox.record(
        session,
        ContactErasureBlocked(
            tenant_id=tenant_id,
            erasure_id=request.id,
            contact_id=contact.id,
            destroy_after=request.destroy_after.isoformat(),
        ),
    )
    audit_service.record(
        session,
        tenant_id=tenant_id,
        actor=actor,
        action="contact.erasure_blocked",
        object_type="contact",
        object_id=contact.id,
        data={"erasure_id": request.id, "ground": ground, "destroy_now": destroy_now},
    )
    if destroy_now or request.sealed_file is None:
        await destroy(session, request=request, sealed=sealed, actor=actor, now=now)
    return request


async def destroy(
    session: AsyncSession,
    *,
    request: ErasureRequest,
    sealed: SealedStore,
    actor: str,
    now: datetime,
) -> ErasureRequest:
    """End the block: delete the sealed copy. Idempotent."""
    if request.status == "destroyed":
        return request
    sealed.delete(request.tenant_id, request.id)
    request.status = "destroyed"
    request.destroyed_at = now
    request.sealed_file = None
    await session.flush()
    outbox.record(
        session,
        ContactErasureDestroyed(
            tenant_id=request.tenant_id, erasure_id=request.id, contact_id=request.contact_id
        ),
    )
    audit_service.record(
        session,
        tenant_id=request.tenant_id,
        actor=actor,
        action="contact.erasure_destroyed",
        object_type="contact",
        object_id=request.contact_id,
        data={"erasure_id": request.id},
    )
    return request


async def get_erasure(session: AsyncSession, *, tenant_id: str, erasure_id: str) -> ErasureRequest:
    row = None
    if looks_like_id(erasure_id):
        row = await session.scalar(
            select(ErasureRequest).where(
                ErasureRequest.tenant_id == tenant_id, ErasureRequest.id == erasure_id
            )
        )
    if row is None:
        raise NotFound(f"erasure {erasure_id} not found")
    return row


async def destroy_now(
    session: AsyncSession, *, tenant_id: str, erasure_id: str, sealed: SealedStore, actor: str,
    now: datetime,
) -> ErasureRequest:  # fmt: skip
    """An admin ends a block early (the legal hold is no longer needed)."""
    request = await get_erasure(session, tenant_id=tenant_id, erasure_id=erasure_id)
    return await destroy(session, request=request, sealed=sealed, actor=actor, now=now)


async def unseal(
    session: AsyncSession, *, tenant_id: str, erasure_id: str, sealed: SealedStore, actor: str
) -> bytes:
    """The sealed copy of a blocked erasure, for a legal claim. Every opening is audited."""
    request = await get_erasure(session, tenant_id=tenant_id, erasure_id=erasure_id)
    if request.status != "blocked":
        raise NotFound(f"erasure {erasure_id} was destroyed: nothing is left to open")
    data = sealed.read(tenant_id, request.id)
    audit_service.record(
        session,
        tenant_id=tenant_id,
        actor=actor,
        action="contact.erasure_unsealed",
        object_type="erasure",
        object_id=request.id,
        data={},
    )
    return data


async def destroy_due(session: AsyncSession, *, sealed: SealedStore, now: datetime) -> int:
    """Every tenant's blocked erasures whose period is over (the daily job)."""
    due = list(
        (
            await session.scalars(
                select(ErasureRequest)
                .where(ErasureRequest.status == "blocked", ErasureRequest.destroy_after <= now)
                .order_by(ErasureRequest.destroy_after)
                .limit(500)
            )
        ).all()
    )
    for request in due:
        await destroy(session, request=request, sealed=sealed, actor="system", now=now)
    return len(due)


async def list_erasures(
    session: AsyncSession,
    *,
    tenant_id: str,
    status: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> list[ErasureRequest]:
    """Newest first."""
    if cursor is not None and not looks_like_id(cursor):
        raise InvalidInput.for_field("cursor", "use next_cursor from the previous page")
    stmt = select(ErasureRequest).where(ErasureRequest.tenant_id == tenant_id)
    if status:
        stmt = stmt.where(ErasureRequest.status == status)
    if cursor:
        stmt = stmt.where(ErasureRequest.id < cursor)
    rows = await session.scalars(stmt.order_by(ErasureRequest.id.desc()).limit(limit))
    return list(rows.all())


# ---- retention ---------------------------------------------------------------------------


async def run_retention(
    session: AsyncSession, *, tenant_id: str, now: datetime
) -> retention.RetentionResult:
    """Apply one tenant's retention periods; records an event when anything changed."""
    tenant = await tenants_service.get_tenant(session, tenant_id=tenant_id)
    policy = tenant_document(tenant).privacy
    result = await retention.apply_retention(session, tenant_id=tenant_id, policy=policy, now=now)
    if result.transcripts or result.recordings:
        outbox.record(
            session,
            RetentionApplied(
                tenant_id=tenant_id,
                transcripts=result.transcripts,
                recordings=result.recordings,
            ),
        )
    return result
