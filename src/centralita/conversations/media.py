"""Files customers send through a provider that keeps them (WhatsApp media): fetched after the
message is stored, into the tenant's file store, and served to agents.

The webhook stores only the description (``meta["media"]``: id, type, MIME type, hash), so a
slow or failing download never costs the message. ``fetch_inbound_media`` runs on
``message.received`` in the workers: a transient error raises and the outbox retries with
backoff; a refusal (unsupported type, too large, expired) or too many failures is recorded on
the media entry with its reason. A redelivered event finds the file stored and does nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from centralita.channels import service as channels_service
from centralita.channels.base import AccountConfig, FetchedMedia, MediaRefused
from centralita.conversations import service as conversations_service
from centralita.conversations.events import MessageMediaFailed, MessageMediaStored
from centralita.conversations.models import Message
from centralita.core.blobs import BlobStore, StoredBlob
from centralita.core.errors import InvalidInput, NotFound
from centralita.events import outbox
from centralita.events.envelope import Envelope

if TYPE_CHECKING:
    from centralita.bootstrap import Container

log = logging.getLogger(__name__)

# With the relay's backoff (2, 4, 8… seconds) this gives the provider about two minutes.
MAX_FETCH_ATTEMPTS = 6


def _pending(entry: Any, *, tenant_id: str, blobs: BlobStore) -> bool:
    if not isinstance(entry, dict) or not entry.get("id") or entry.get("error"):
        return False
    key = entry.get("key")
    return not (isinstance(key, str) and blobs.exists(tenant_id, key))


async def fetch_inbound_media(container: Container, envelope: Envelope) -> None:
    """Fetch every file of one received message that is not stored yet."""
    tenant_id, message_id = envelope.tenant_id, str(envelope.payload.get("message_id") or "")
    async with container.sessions() as session:
        message = await session.scalar(
            select(Message).where(Message.tenant_id == tenant_id, Message.id == message_id)
        )
        if message is None or not message.channel_account_id:
            return
        entries = (message.meta or {}).get("media") or []
        pending = [e for e in entries if _pending(e, tenant_id=tenant_id, blobs=container.blobs)]
        if not pending:
            return
        account = channels_service.to_config(
            await channels_service.get_account(
                session, tenant_id=tenant_id, account_id=message.channel_account_id
            )
        )
    adapter = container.adapters.get(account.provider)
    if adapter is None or not callable(getattr(adapter, "fetch_media", None)):
        return
    retry: Exception | None = None
    for entry in pending:
        error = await _fetch_one(container, adapter, account, message_id, entry)
        if error is not None:
            retry = error
    if retry is not None:
        raise retry  # the attempts are counted; the relay tries again after its backoff


async def _fetch_one(
    container: Container,
    adapter: Any,
    account: AccountConfig,
    message_id: str,
    entry: Mapping[str, Any],
) -> Exception | None:
    """Fetch and store one file; return the transient error to retry on, if any."""
    tenant_id, media_id = account.tenant_id, str(entry["id"])
    try:
        fetched: FetchedMedia = await adapter.fetch_media(
            entry, account, max_bytes=container.blobs.max_bytes
        )
        stored = await asyncio.to_thread(
            container.blobs.put,
            tenant_id,
            fetched.data,
            content_type=fetched.content_type,
            filename=fetched.filename,
        )
    except (MediaRefused, InvalidInput) as exc:
        async with container.sessions() as session, session.begin():
            await record_media_failure(
                session, tenant_id=tenant_id, message_id=message_id, media_id=media_id,
                error=str(exc), final=True,
            )  # fmt: skip
        return None
    except Exception as exc:
        log.warning("fetching media %s of %s failed: %s", media_id, message_id, exc)
        async with container.sessions() as session, session.begin():
            final = await record_media_failure(
                session, tenant_id=tenant_id, message_id=message_id, media_id=media_id,
                error=f"{type(exc).__name__}: {exc}"[:500], final=False,
            )  # fmt: skip
        return None if final else exc
    async with container.sessions() as session, session.begin():
        await record_media_stored(
            session, tenant_id=tenant_id, message_id=message_id, media_id=media_id, stored=stored
        )
    return None


async def _locked_entry(
    session: AsyncSession, *, tenant_id: str, message_id: str, media_id: str
) -> tuple[Message, list[dict[str, Any]], int] | None:
    message = await session.scalar(
        select(Message)
        .where(Message.tenant_id == tenant_id, Message.id == message_id)
        .with_for_update()
    )
    if message is None:
        return None
    entries = [dict(e) for e in (message.meta or {}).get("media") or [] if isinstance(e, dict)]
    index = next((i for i, e in enumerate(entries) if e.get("id") == media_id), None)
    return None if index is None else (message, entries, index)


async def record_media_stored(
    session: AsyncSession, *, tenant_id: str, message_id: str, media_id: str, stored: StoredBlob
) -> bool:
    """Point the message's media entry at the stored file; False if it already was."""
    found = await _locked_entry(
        session, tenant_id=tenant_id, message_id=message_id, media_id=media_id
    )
    if found is None:
        return False
    message, entries, index = found
    entry = entries[index]
    if entry.get("key") == stored.key and not entry.get("error"):
        return False  # a concurrent or earlier run stored it
    for stale in ("fetch_attempts", "last_fetch_error"):
        entry.pop(stale, None)
    entry.update(key=stored.key, size=stored.size, content_type=stored.content_type)
    message.meta = {**(message.meta or {}), "media": entries}
    outbox.record(
        session,
        MessageMediaStored(
            tenant_id=tenant_id,
            message_id=message_id,
            conversation_id=message.conversation_id,
            media_id=media_id,
            key=stored.key,
            size=stored.size,
            content_type=stored.content_type,
        ),
    )
    return True


async def record_media_failure(
    session: AsyncSession,
    *,
    tenant_id: str,
    message_id: str,
    media_id: str,
    error: str,
    final: bool,
) -> bool:
    """Count a failed fetch; a refusal, or the last allowed attempt, becomes the entry's
    ``error``. Returns whether the failure is now final."""
    found = await _locked_entry(
        session, tenant_id=tenant_id, message_id=message_id, media_id=media_id
    )
    if found is None:
        return True
    message, entries, index = found
    entry = entries[index]
    if entry.get("key") or entry.get("error"):
        return True  # stored or given up on by a concurrent run
    attempts = int(entry.get("fetch_attempts") or 0) + 1
    entry.update(fetch_attempts=attempts, last_fetch_error=error)
    final = final or attempts >= MAX_FETCH_ATTEMPTS
    if final:
        entry["error"] = error if attempts == 1 else f"gave up after {attempts} attempts: {error}"
    message.meta = {**(message.meta or {}), "media": entries}
    if final:
        outbox.record(
            session,
            MessageMediaFailed(
                tenant_id=tenant_id,
                message_id=message_id,
                conversation_id=message.conversation_id,
                media_id=media_id,
                error=entry["error"],
            ),
        )
    return final


@dataclass(frozen=True)
class StoredFile:
    data: bytes
    content_type: str
    filename: str | None


async def stored_file(
    session: AsyncSession, *, blobs: BlobStore, tenant_id: str, message_id: str, key: str
) -> StoredFile:
    """A file one of the tenant's messages references (fetched media or an attachment)."""
    message = await conversations_service.get_message(
        session, tenant_id=tenant_id, message_id=message_id
    )
    meta = message.meta or {}
    for entry in [*(meta.get("media") or []), *(meta.get("attachments") or [])]:
        if isinstance(entry, dict) and entry.get("key") == key:
            data = await asyncio.to_thread(blobs.read, tenant_id, key)
            content_type = entry.get("content_type") or entry.get("mime_type")
            filename = entry.get("filename")
            return StoredFile(
                data,
                str(content_type or "application/octet-stream"),
                filename if isinstance(filename, str) else None,
            )
    raise NotFound("file not found")
