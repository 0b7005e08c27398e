"""Webhook endpoints (admin only): subscriptions, secret rotation, the delivery log, replay,
and the public event catalog. Tenant-scoped: a foreign or unknown id is 404."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from centralita.api.deps import AdminPrincipal, ContainerDep, DbSession, Paging
from centralita.api.pagination import Page
from centralita.audit import service as audit_service
from centralita.core.ids import ID_PATTERN
from centralita.events import catalog
from centralita.webhooks import service as webhooks_service
from centralita.webhooks.resolve import policy_from
from centralita.webhooks.schemas import (
    DeliveryStatus,
    PublicEventRead,
    SecretRotate,
    WebhookAttemptRead,
    WebhookCreate,
    WebhookDeliveryDetail,
    WebhookDeliveryRead,
    WebhookIssued,
    WebhookRead,
    WebhookUpdate,
)

router = APIRouter(tags=["webhooks"])


def _audit(db: DbSession, principal: AdminPrincipal, action: str, object_id: str) -> None:
    audit_service.record(
        db,
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        action=action,
        object_type="webhook",
        object_id=object_id,
    )


@router.get("/webhook-events", summary="The public event catalog webhooks can subscribe to")
async def list_public_events(principal: AdminPrincipal) -> Page[PublicEventRead]:
    return Page(
        items=[
            PublicEventRead(
                name=e.name,
                version=e.version,
                description=e.description,
                payload_schema=e.json_schema(),
            )
            for e in catalog.CATALOG
        ]
    )


@router.get("/webhooks", summary="List the tenant's webhooks (secrets are never shown again)")
async def list_webhooks(db: DbSession, principal: AdminPrincipal) -> Page[WebhookRead]:
    rows = await webhooks_service.list_subscriptions(db, tenant_id=principal.tenant_id)
    return Page(items=[WebhookRead.model_validate(r) for r in rows])


@router.post("/webhooks", status_code=201, responses={409: {}, 422: {}})
async def create_webhook(
    body: WebhookCreate, db: DbSession, principal: AdminPrincipal, container: ContainerDep
) -> WebhookIssued:
    subscription, secret = await webhooks_service.create_subscription(
        db,
        tenant_id=principal.tenant_id,
        url=body.url,
        events=body.events,
        description=body.description,
        enabled=body.enabled,
        policy=policy_from(container.settings),
    )
    _audit(db, principal, "webhook.create", subscription.id)
    return WebhookIssued(**WebhookRead.model_validate(subscription).model_dump(), secret=secret)


@router.get("/webhooks/{webhook_id}", responses={404: {}})
async def get_webhook(webhook_id: str, db: DbSession, principal: AdminPrincipal) -> WebhookRead:
    subscription = await webhooks_service.get_subscription(
        db, tenant_id=principal.tenant_id, webhook_id=webhook_id
    )
    return WebhookRead.model_validate(subscription)


@router.patch("/webhooks/{webhook_id}", responses={404: {}, 422: {}})
async def update_webhook(
    webhook_id: str,
    body: WebhookUpdate,
    db: DbSession,
    principal: AdminPrincipal,
    container: ContainerDep,
) -> WebhookRead:
    subscription = await webhooks_service.update_subscription(
        db,
        tenant_id=principal.tenant_id,
        webhook_id=webhook_id,
        policy=policy_from(container.settings),
        **body.model_dump(exclude_unset=True, exclude_none=True),
    )
    _audit(db, principal, "webhook.update", subscription.id)
    return WebhookRead.model_validate(subscription)


@router.delete("/webhooks/{webhook_id}", status_code=204, responses={404: {}})
async def delete_webhook(webhook_id: str, db: DbSession, principal: AdminPrincipal) -> None:
    await webhooks_service.delete_subscription(
        db, tenant_id=principal.tenant_id, webhook_id=webhook_id
    )
    _audit(db, principal, "webhook.delete", webhook_id)


@router.post("/webhooks/{webhook_id}/rotate-secret", responses={404: {}, 422: {}})
async def rotate_webhook_secret(
    webhook_id: str,
    db: DbSession,
    principal: AdminPrincipal,
    container: ContainerDep,
    body: SecretRotate | None = None,
) -> WebhookIssued:
    grace = timedelta(hours=(body or SecretRotate()).grace_hours)
    subscription, secret = await webhooks_service.rotate_secret(
        db,
        tenant_id=principal.tenant_id,
        webhook_id=webhook_id,
        grace=grace,
        now=container.clock(),
    )
    _audit(db, principal, "webhook.rotate_secret", subscription.id)
    return WebhookIssued(**WebhookRead.model_validate(subscription).model_dump(), secret=secret)


@router.get(
    "/webhooks/{webhook_id}/deliveries",
    summary="The delivery log, newest first",
    responses={404: {}},
)
async def list_webhook_deliveries(
    webhook_id: str,
    db: DbSession,
    principal: AdminPrincipal,
    page: Paging,
    status: Annotated[DeliveryStatus | None, Query()] = None,
    event_id: Annotated[str | None, Query(max_length=40, pattern=ID_PATTERN)] = None,
) -> Page[WebhookDeliveryRead]:
    result = await webhooks_service.list_deliveries(
        db,
        tenant_id=principal.tenant_id,
        webhook_id=webhook_id,
        status=status,
        event_id=event_id,
        limit=page.limit,
        cursor=page.cursor,
    )
    return Page(
        items=[WebhookDeliveryRead.model_validate(d) for d in result.items],
        next_cursor=result.next_cursor,
    )


@router.get("/webhook-deliveries/{webhook_delivery_id}", responses={404: {}})
async def get_webhook_delivery(
    webhook_delivery_id: str, db: DbSession, principal: AdminPrincipal
) -> WebhookDeliveryDetail:
    delivery = await webhooks_service.get_delivery(
        db, tenant_id=principal.tenant_id, delivery_id=webhook_delivery_id
    )
    attempts = await webhooks_service.list_attempts(
        db, tenant_id=principal.tenant_id, delivery_id=delivery.id
    )
    return WebhookDeliveryDetail(
        **WebhookDeliveryRead.model_validate(delivery).model_dump(),
        payload=delivery.payload,
        attempt_log=[WebhookAttemptRead.model_validate(a) for a in attempts],
    )


@router.post("/webhook-deliveries/{webhook_delivery_id}/replay", responses={404: {}, 409: {}})
async def replay_webhook_delivery(
    webhook_delivery_id: str, db: DbSession, principal: AdminPrincipal, container: ContainerDep
) -> WebhookDeliveryRead:
    delivery = await webhooks_service.replay_delivery(
        db, tenant_id=principal.tenant_id, delivery_id=webhook_delivery_id, now=container.clock()
    )
    audit_service.record(
        db,
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        action="webhook.replay",
        object_type="webhook_delivery",
        object_id=delivery.id,
        data={"event_id": delivery.event_id},
    )
    return WebhookDeliveryRead.model_validate(delivery)
