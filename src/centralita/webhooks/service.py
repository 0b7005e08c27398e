"""Webhook use cases: subscriptions (with secret rotation), the delivery log, manual replay,
and turning a relayed internal event into one delivery per matching subscription.

Every URL is checked against the SSRF rules (``webhooks.ssrf``) when it is saved; the sender
checks it again before each attempt.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from centralita.core.errors import Conflict, InvalidInput
from centralita.core.ids import new_id
from centralita.db.paging import Slice, paginate
from centralita.db.scoped import get_scoped
from centralita.events import catalog, outbox
from centralita.events.envelope import Envelope
from centralita.webhooks import backoff, signing
from centralita.webhooks.events import (
    WebhookCreated,
    WebhookDeleted,
    WebhookDeliveryReplayed,
    WebhookSecretRotated,
    WebhookUpdated,
)
from centralita.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from centralita.webhooks.resolve import Resolver, checked_addresses, resolve
from centralita.webhooks.ssrf import UnsafeUrl, UrlPolicy, parse_url

MAX_SUBSCRIPTIONS = 20  # per tenant: each one multiplies the outgoing traffic
DELIVERY_STATUSES = ("pending", "failed", "succeeded", "dead")


async def check_url(url: str, *, policy: UrlPolicy, resolver: Resolver = resolve) -> str:
    """``url`` when it may be called now; InvalidInput (422) naming the reason otherwise."""
    try:
        target = parse_url(url, policy)
        await checked_addresses(target, policy, resolver)
    except UnsafeUrl as exc:
        raise InvalidInput.for_field("url", str(exc)) from exc
    return url


def check_events(names: list[str]) -> list[str]:
    if not names:
        raise InvalidInput.for_field("events", 'name at least one event, or "*" for all')
    unknown = catalog.unknown_names(names)
    if unknown:
        raise InvalidInput.for_field(
            "events", f"unknown event names {unknown}; see GET /api/v1/webhook-events"
        )
    return sorted(set(names))


async def create_subscription(
    session: AsyncSession,
    *,
    tenant_id: str,
    url: str,
    events: list[str],
    description: str = "",
    enabled: bool = True,
    policy: UrlPolicy,
    resolver: Resolver = resolve,
) -> tuple[WebhookSubscription, str]:
    """The new subscription and its secret (shown to the caller once)."""
    names = check_events(events)
    await check_url(url, policy=policy, resolver=resolver)
    count = len(await list_subscriptions(session, tenant_id=tenant_id))
    if count >= MAX_SUBSCRIPTIONS:
        raise Conflict(f"a tenant can have at most {MAX_SUBSCRIPTIONS} webhooks")
    secret = signing.new_secret()
    subscription = WebhookSubscription(
        id=new_id("whk"),
        tenant_id=tenant_id,
        url=url,
        description=description,
        events=names,
        enabled=enabled,
        secret=secret,
    )
    session.add(subscription)
    await session.flush()
    outbox.record(
        session, WebhookCreated(tenant_id=tenant_id, webhook_id=subscription.id, events=names)
    )
    return subscription, secret


async def list_subscriptions(session: AsyncSession, *, tenant_id: str) -> list[WebhookSubscription]:
    rows = await session.scalars(
        select(WebhookSubscription)
        .where(WebhookSubscription.tenant_id == tenant_id)
        .order_by(WebhookSubscription.id)
    )
    return list(rows.all())


async def get_subscription(
    session: AsyncSession, *, tenant_id: str, webhook_id: str
) -> WebhookSubscription:
    return await get_scoped(
        session, WebhookSubscription, tenant_id=tenant_id, id=webhook_id, label="webhook"
    )


async def update_subscription(
    session: AsyncSession,
    *,
    tenant_id: str,
    webhook_id: str,
    policy: UrlPolicy,
    resolver: Resolver = resolve,
    url: str | None = None,
    events: list[str] | None = None,
    description: str | None = None,
    enabled: bool | None = None,
) -> WebhookSubscription:
    subscription = await get_subscription(session, tenant_id=tenant_id, webhook_id=webhook_id)
    changes: dict[str, Any] = {}
    if url is not None and url != subscription.url:
        changes["url"] = await check_url(url, policy=policy, resolver=resolver)
    if events is not None:
        names = check_events(events)
        if names != subscription.events:
            changes["events"] = names
    if description is not None and description != subscription.description:
        changes["description"] = description
    if enabled is not None and enabled != subscription.enabled:
        changes["enabled"] = enabled
    if changes:
        for key, value in changes.items():
            setattr(subscription, key, value)
        outbox.record(
            session,
            WebhookUpdated(tenant_id=tenant_id, webhook_id=webhook_id, fields=sorted(changes)),
        )
    return subscription


async def delete_subscription(
    session: AsyncSession, *, tenant_id: str, webhook_id: str
) -> WebhookSubscription:
    """Delete the subscription with its delivery log; nothing more is sent to it."""
    subscription = await get_subscription(session, tenant_id=tenant_id, webhook_id=webhook_id)
    await session.delete(subscription)
    outbox.record(session, WebhookDeleted(tenant_id=tenant_id, webhook_id=webhook_id))
    return subscription


async def rotate_secret(
    session: AsyncSession,
    *,
    tenant_id: str,
    webhook_id: str,
    grace: timedelta,
    now: datetime,
) -> tuple[WebhookSubscription, str]:
    """A new secret; the current one keeps signing (a second ``v1``) for ``grace``."""
    subscription = await get_subscription(session, tenant_id=tenant_id, webhook_id=webhook_id)
    secret = signing.new_secret()
    if grace > timedelta(0):
        subscription.previous_secret = subscription.secret
        subscription.previous_secret_expires_at = now + grace
    else:
        subscription.previous_secret = None
        subscription.previous_secret_expires_at = None
    subscription.secret = secret
    expires = subscription.previous_secret_expires_at
    outbox.record(
        session,
        WebhookSecretRotated(
            tenant_id=tenant_id,
            webhook_id=webhook_id,
            previous_expires_at=expires.isoformat() if expires else None,
        ),
    )
    return subscription, secret


def signing_secrets(subscription: WebhookSubscription, now: datetime) -> list[str]:
    """The secrets that sign a delivery sent at ``now``: the current one, then the old one."""
    found = [subscription.secret]
    expires = subscription.previous_secret_expires_at
    if subscription.previous_secret and expires is not None and expires > now:
        found.append(subscription.previous_secret)
    return found


# ---- deliveries ---------------------------------------------------------------------------


async def list_deliveries(
    session: AsyncSession,
    *,
    tenant_id: str,
    webhook_id: str,
    status: str | None = None,
    event_id: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Slice[WebhookDelivery]:
    await get_subscription(session, tenant_id=tenant_id, webhook_id=webhook_id)
    stmt = select(WebhookDelivery).where(
        WebhookDelivery.tenant_id == tenant_id, WebhookDelivery.subscription_id == webhook_id
    )
    if status is not None:
        stmt = stmt.where(WebhookDelivery.status == status)
    if event_id is not None:
        stmt = stmt.where(WebhookDelivery.event_id == event_id)
    return await paginate(session, stmt, WebhookDelivery.id, limit=limit, cursor=cursor)


async def get_delivery(
    session: AsyncSession, *, tenant_id: str, delivery_id: str
) -> WebhookDelivery:
    return await get_scoped(
        session, WebhookDelivery, tenant_id=tenant_id, id=delivery_id, label="webhook delivery"
    )


async def list_attempts(
    session: AsyncSession, *, tenant_id: str, delivery_id: str
) -> list[WebhookAttempt]:
    rows = await session.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.tenant_id == tenant_id, WebhookAttempt.delivery_id == delivery_id)
        .order_by(WebhookAttempt.started_at, WebhookAttempt.id)
    )
    return list(rows.all())


async def replay_delivery(
    session: AsyncSession, *, tenant_id: str, delivery_id: str, now: datetime
) -> WebhookDelivery:
    """Send a delivery again soon, whatever its state, with the same event id and body; the
    retry schedule and its three-day window start again."""
    delivery = await get_delivery(session, tenant_id=tenant_id, delivery_id=delivery_id)
    subscription = await session.get(WebhookSubscription, delivery.subscription_id)
    if subscription is None or not subscription.enabled:
        raise Conflict("the webhook is disabled: enable it before replaying its deliveries")
    if delivery.status in ("pending", "failed") and delivery.attempts == 0:
        return delivery  # not tried yet: it is going out anyway
    delivery.status = "pending"
    delivery.attempts = 0
    delivery.next_attempt_at = now
    delivery.deadline = now + backoff.GIVE_UP_AFTER
    delivery.succeeded_at = None
    outbox.record(
        session,
        WebhookDeliveryReplayed(
            tenant_id=tenant_id,
            webhook_id=delivery.subscription_id,
            delivery_id=delivery.id,
            event_id=delivery.event_id,
        ),
    )
    return delivery


def public_body(envelope: Envelope, message: catalog.PublicMessage) -> dict[str, Any]:
    """What a receiver gets: the envelope fields of docs/webhooks.md around ``data``."""
    return {
        "id": envelope.event_id,
        "type": message.name,
        "version": message.version,
        "created_at": envelope.occurred_at,
        "tenant_id": envelope.tenant_id,
        "data": message.data,
    }


async def enqueue(session: AsyncSession, envelope: Envelope, *, now: datetime) -> int:
    """One pending delivery per enabled subscription of the tenant that wants the event.

    Idempotent: a redelivered event finds its rows already there (a unique index on
    subscription and event id) and adds none. Returns how many rows were new."""
    message = catalog.to_public(envelope.name, envelope.payload)
    if message is None:
        return 0
    subscriptions = await session.scalars(
        select(WebhookSubscription).where(
            WebhookSubscription.tenant_id == envelope.tenant_id,
            WebhookSubscription.enabled.is_(True),
        )
    )
    body = public_body(envelope, message)
    rows = [
        {
            "id": new_id("whd"),
            "tenant_id": envelope.tenant_id,
            "subscription_id": s.id,
            "event_id": envelope.event_id,
            "event_name": message.name,
            "event_version": message.version,
            "payload": body,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "deadline": now + backoff.GIVE_UP_AFTER,
            "created_at": now,
        }
        for s in subscriptions.all()
        if catalog.matches(s.events, message.name)
    ]
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    insert_rows = (
        insert(WebhookDelivery.__table__)  # type: ignore[arg-type]
        .values(rows)
        .on_conflict_do_nothing(index_elements=["subscription_id", "event_id"])
    )
    result = await session.execute(insert_rows)
    return max(int(getattr(result, "rowcount", 0) or 0), 0)
