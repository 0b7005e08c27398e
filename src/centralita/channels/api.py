"""Provider webhooks: ``/hooks/{account_id}``. Authenticated by the provider's signature."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from centralita.api.deps import ContainerDep
from centralita.channels import service as channels_service
from centralita.channels.base import HttpInbound, HttpOutbound
from centralita.channels.inbox import accept
from centralita.channels.ingress import ingest
from centralita.core.errors import NotFound

router = APIRouter(tags=["ingress"])


def public_url(request: Request, base: str) -> str:
    """The URL the provider signed: rebuilt from the configured public base URL (proxies)."""
    url = base.rstrip("/") + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    return url


async def _inbound(request: Request, base: str) -> HttpInbound:
    """The request as adapters see it: plain data, the URL the provider signed."""
    return HttpInbound(
        method=request.method,
        url=public_url(request, base),
        headers={k.lower(): v for k, v in request.headers.items()},
        body=await request.body(),
        query=dict(request.query_params),
    )


@router.post(
    "/hooks/{account_id}",
    summary="Inbound webhook of one channel account",
    responses={400: {}, 403: {}, 404: {}, 413: {}, 422: {}},
)
async def inbound_hook(account_id: str, request: Request, container: ContainerDep) -> Response:
    inbound = await _inbound(request, container.settings.public_base_url)
    if container.settings.ingest_mode == "inbox":
        accepted = await accept(
            container.sessions,
            container.adapters,
            account_id=account_id[:64],
            request=inbound,
            now=container.clock(),
            accounts=container.inbox.accounts if container.inbox is not None else None,
        )
        if accepted is not None:
            if container.inbox is not None:
                container.inbox.wake()
            return _response(accepted)
    from centralita.receptionist.voice import answer_call_event, voice_responder

    # what happens to a call already stored (a status callback, a queue's or a transfer's
    # result, a recording) updates it and never threads a new conversation
    event_answer = await answer_call_event(container, account_id=account_id[:64], request=inbound)
    if event_answer is not None:
        return _response(event_answer)
    outcome = await ingest(
        container.sessions,
        container.adapters,
        account_id=account_id[:64],
        request=inbound,
        responder=voice_responder(container),
        blobs=container.blobs,
        clock=container.clock,
    )
    ack = outcome.response
    return Response(ack.body, status_code=ack.status, media_type=ack.content_type)


@router.get(
    "/hooks/{account_id}",
    summary="A provider's verification handshake (WhatsApp Cloud API's hub.challenge)",
    responses={400: {}, 403: {}, 404: {}},
)
async def verify_hook(account_id: str, request: Request, container: ContainerDep) -> Response:
    async with container.sessions() as session:
        target = await channels_service.get_for_ingress(session, account_id=account_id[:64])
        config = channels_service.to_config(target.account)
    adapter = container.adapters.get(config.provider)
    handshake = getattr(adapter, "handshake", None)
    if handshake is None:
        raise NotFound(f"channel account {account_id} has no verification handshake")
    inbound = await _inbound(request, container.settings.public_base_url)
    answer = handshake(inbound, config)
    return Response(answer.body, status_code=answer.status, media_type=answer.content_type)


@router.post(
    "/hooks/{account_id}/whisper/{handoff_id}",
    summary="What a person putting a call through hears first: the intake summary (TwiML)",
    responses={403: {}, 404: {}},
)
async def whisper_hook(
    account_id: str, handoff_id: str, request: Request, container: ContainerDep
) -> Response:
    from centralita.channels.twilio.voice import whisper_twiml
    from centralita.receptionist.voice import whisper_summary

    inbound = await _inbound(request, container.settings.public_base_url)
    async with container.sessions() as session:
        target = await channels_service.get_for_ingress(session, account_id=account_id[:64])
        config = channels_service.to_config(target.account)
        adapter = container.adapters.get(config.provider)
        if adapter is None or not getattr(adapter, "answers_inline", lambda _: False)(config):
            raise NotFound(f"channel account {account_id} does not take calls")
        adapter.verify(inbound, config)  # the provider's signature, as for every hook
        found = await whisper_summary(session, tenant_id=config.tenant_id, handoff_id=handoff_id)
    if found is None:
        raise NotFound(f"hand-off {handoff_id} not found")
    answer = whisper_twiml(*found)
    return Response(answer.body, status_code=answer.status, media_type=answer.content_type)


def _response(answer: HttpOutbound) -> Response:
    return Response(answer.body, status_code=answer.status, media_type=answer.content_type)


@router.post(
    "/hooks/{account_id}/queue-wait",
    summary="What a caller waiting in a queue hears: place, expected wait, callback offer",
    responses={400: {}, 403: {}, 404: {}},
)
async def queue_wait_hook(account_id: str, request: Request, container: ContainerDep) -> Response:
    return await _call_hook(account_id, "queue-wait", request, container)


@router.post(
    "/hooks/{account_id}/transcription",
    summary="A voicemail's transcription: becomes a message for staff",
    responses={400: {}, 403: {}, 404: {}},
)
async def transcription_hook(
    account_id: str, request: Request, container: ContainerDep
) -> Response:
    return await _call_hook(account_id, "transcription", request, container)


@router.post(
    "/hooks/{account_id}/connect",
    summary="A queued caller the ACD assigned to an agent: connect them (TwiML <Dial>)",
    responses={400: {}, 403: {}, 404: {}},
)
async def connect_hook(account_id: str, request: Request, container: ContainerDep) -> Response:
    return await _call_hook(account_id, "connect", request, container)


async def _call_hook(
    account_id: str, route: str, request: Request, container: ContainerDep
) -> Response:
    """A call's own webhooks, signed by the provider like every hook."""
    from centralita.receptionist.voice import answer_call_event

    inbound = await _inbound(request, container.settings.public_base_url)
    answer = await answer_call_event(
        container, account_id=account_id[:64], request=inbound, route=route
    )
    if answer is None:
        raise NotFound(f"channel account {account_id} does not take calls")
    return _response(answer)
