"""Provider webhooks: ``/hooks/{account_id}``. Authenticated by the provider's signature."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from centralita.api.deps import ContainerDep
from centralita.channels.base import HttpInbound
from centralita.channels.ingress import ingest

router = APIRouter(tags=["ingress"])


def public_url(request: Request, base: str) -> str:
    """The URL the provider signed: rebuilt from the configured public base URL (proxies)."""
    url = base.rstrip("/") + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    return url


@router.post(
    "/hooks/{account_id}",
    summary="Inbound webhook of one channel account",
    responses={400: {}, 403: {}, 404: {}, 413: {}, 422: {}},
)
async def inbound_hook(account_id: str, request: Request, container: ContainerDep) -> Response:
    body = await request.body()
    inbound = HttpInbound(
        method=request.method,
        url=public_url(request, container.settings.public_base_url),
        headers={k.lower(): v for k, v in request.headers.items()},
        body=body,
        query=dict(request.query_params),
    )
    outcome = await ingest(
        container.sessions, container.adapters, account_id=account_id[:64], request=inbound
    )
    ack = outcome.response
    return Response(ack.body, status_code=ack.status, media_type=ack.content_type)
