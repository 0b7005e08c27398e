"""The web chat widget's edge: its one script, the visitor's session, the WebSocket and the
leave-a-message form. Visitors are authenticated by their signed token, pages by Origin."""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any

from fastapi import APIRouter, Request, Response, WebSocket
from pydantic import BaseModel, Field, ValidationError

from centralita.api.deps import ContainerDep
from centralita.api.errors import problem
from centralita.bootstrap import Container
from centralita.channels import webchat_service
from centralita.channels.base import SignatureError
from centralita.channels.webchat.adapter import visitor_from_token
from centralita.channels.webchat.strings import WIDGET_STRINGS
from centralita.channels.webchat_service import Identity, Widget
from centralita.channels.webchat_socket import ChatSocket
from centralita.core.errors import DomainError, InvalidInput, NotFound
from centralita.core.ids import looks_like_id

router = APIRouter(tags=["webchat"])

CLOSE_FORBIDDEN = 4403  # bad token or a page that may not open this widget
CLOSE_NOT_FOUND = 4404
_ERRORS: dict[int | str, dict[str, Any]] = {400: {}, 403: {}, 404: {}, 409: {}, 422: {}}


class SessionRequest(BaseModel):
    token: str | None = Field(default=None, max_length=200)
    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=40)
    language: str | None = Field(default=None, max_length=35)


class OfflineRequest(SessionRequest):
    id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="client id: a resend is one")
    text: str = Field(min_length=1, max_length=4096)


def _script() -> str:
    return files("centralita.web").joinpath("static/widget/widget.js").read_text("utf-8")


async def _widget(container: Container, account_id: str, *, ensure_secret: bool = False) -> Widget:
    if not looks_like_id(account_id):
        raise NotFound(f"widget {account_id[:64]} not found")
    async with container.sessions() as session, session.begin():
        return await webchat_service.open_widget(
            session, account_id=account_id, now=container.clock(), ensure_secret=ensure_secret
        )


def _cors(widget: Widget | None, origin: str | None) -> dict[str, str]:
    if widget is None or origin is None or not widget.settings.origin_allowed(origin):
        return {}
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}


def _check_origin(widget: Widget, origin: str | None) -> None:
    if not widget.settings.origin_allowed(origin):
        raise SignatureError(f"origin {origin or '(none)'} may not open this widget")


def _failed(exc: Exception, headers: dict[str, str]) -> Response:
    """A problem+json answer the widget's page can read (CORS headers included)."""
    if isinstance(exc, SignatureError):
        return problem(403, "Forbidden", str(exc), headers=headers)
    if isinstance(exc, ValidationError):
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return problem(422, "Invalid input", detail, errors, headers=headers)
    assert isinstance(exc, DomainError)
    errors = [{"field": p.field, "message": p.message} for p in exc.problems]
    return problem(exc.status, exc.title, exc.detail, errors, headers=headers)


async def _body(request: Request, model: type[BaseModel]) -> Any:
    raw = await request.body()
    return model.model_validate_json(raw or b"{}")


def _config(widget: Widget, language: str) -> dict[str, Any]:
    s = widget.settings
    return {
        "name": widget.tenant_name,
        "language": language,
        "greeting": widget.greeting.get(language, ""),
        "online": widget.online,
        "prechat": list(s.prechat),
        "prechat_required": list(s.prechat_required),
        "colour": s.colour,
        "strings": WIDGET_STRINGS[language],
    }


def _ws_url(container: Container, account_id: str) -> str:
    base = container.settings.public_base_url.rstrip("/")
    return base.replace("https://", "wss://", 1).replace("http://", "ws://", 1) + (
        f"/widget/{account_id}/ws"
    )


@router.get(
    "/widget/{account_id}.js",
    summary="The web chat widget: one script tag on the business's pages",
    responses={404: {}},
)
async def widget_script(account_id: str, request: Request, container: ContainerDep) -> Response:
    widget = await _widget(container, account_id)
    # Only the business's own sites may frame what the widget serves (web/hardening.py).
    request.state.frame_origins = widget.settings.allowed_origins
    boot = {"account": account_id, "base": container.settings.public_base_url.rstrip("/")}
    # one block: a second copy of the tag on a page cannot clash with the first
    body = '"use strict";\n{\nconst BOOT = ' + json.dumps(boot) + ";\n" + _script() + "}\n"
    return Response(
        body,
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"},
    )


@router.options("/widget/{account_id}/session", include_in_schema=False)
@router.options("/widget/{account_id}/offline", include_in_schema=False)
async def preflight(account_id: str, request: Request, container: ContainerDep) -> Response:
    """CORS preflight: the widget runs on the business's pages, another origin than ours."""
    origin = request.headers.get("origin")
    try:
        widget = await _widget(container, account_id)
        _check_origin(widget, origin)
    except (DomainError, SignatureError) as exc:
        return _failed(exc, {})
    headers = {
        **_cors(widget, origin),
        "Access-Control-Allow-Methods": "POST",
        "Access-Control-Allow-Headers": "content-type",
        "Access-Control-Max-Age": "600",
    }
    return Response(status_code=204, headers=headers)


@router.post(
    "/widget/{account_id}/session",
    summary="Start or resume a web chat visitor (optionally with the pre-chat form)",
    responses=_ERRORS,
    openapi_extra={"requestBody": {"content": {"application/json": {
        "schema": SessionRequest.model_json_schema()}}}},
)  # fmt: skip
async def start_session(account_id: str, request: Request, container: ContainerDep) -> Response:
    origin = request.headers.get("origin")
    widget: Widget | None = None
    try:
        widget = await _widget(container, account_id, ensure_secret=True)
        _check_origin(widget, origin)
        body: SessionRequest = await _body(request, SessionRequest)
        identity = Identity(body.name, body.email, body.phone)
        missing = [f for f in widget.settings.prechat_required if not getattr(identity, f)]
        if identity.given() and missing:
            raise InvalidInput.for_field(missing[0], "required")
        visitor_id, token = webchat_service.visitor_token(widget, body.token)
        if identity.given():
            async with container.sessions() as session, session.begin():
                await webchat_service.identify(
                    session, widget=widget, visitor_id=visitor_id, identity=identity
                )
    except (DomainError, SignatureError, ValidationError) as exc:
        return _failed(exc, _cors(widget, origin))
    language = widget.language(body.language)
    payload = {
        "visitor_id": visitor_id,
        "token": token,
        "ws_url": _ws_url(container, widget.config.id),
        "config": _config(widget, language),
    }
    return Response(
        json.dumps(payload), media_type="application/json", headers=_cors(widget, origin)
    )


@router.post(
    "/widget/{account_id}/offline",
    summary="Leave a message while nobody is available: taken for staff, kept on the timeline",
    status_code=201,
    responses=_ERRORS,
    openapi_extra={"requestBody": {"content": {"application/json": {
        "schema": OfflineRequest.model_json_schema()}}}},
)  # fmt: skip
async def leave_message(account_id: str, request: Request, container: ContainerDep) -> Response:
    origin = request.headers.get("origin")
    widget: Widget | None = None
    try:
        widget = await _widget(container, account_id, ensure_secret=True)
        _check_origin(widget, origin)
        body: OfflineRequest = await _body(request, OfflineRequest)
        left = await webchat_service.leave_message(
            container.sessions,
            account_id=widget.config.id,
            token=body.token,
            identity=Identity(body.name, body.email, body.phone),
            client_id=body.id,
            text=body.text,
            language=body.language,
            now=container.clock(),
        )
    except (DomainError, SignatureError, ValidationError) as exc:
        return _failed(exc, _cors(widget, origin))
    payload = {
        "visitor_id": left.visitor_id,
        "token": left.token,
        "message_id": left.message_id,
        "staff_message_id": left.staff_message_id,
    }
    return Response(
        json.dumps(payload), 201, media_type="application/json", headers=_cors(widget, origin)
    )


@router.websocket("/widget/{account_id}/ws")
async def widget_socket(websocket: WebSocket, account_id: str, token: str = "") -> None:
    """The visitor's live chat (frames in ``channels/webchat/adapter.py``). A bad token or
    page closes with 4403 before anything is read or stored."""
    container: Container = websocket.app.state.container
    await websocket.accept()
    try:
        widget = await _widget(container, account_id)
        _check_origin(widget, websocket.headers.get("origin"))
        visitor_id = visitor_from_token(token, widget.config)
    except NotFound as exc:
        await websocket.close(CLOSE_NOT_FOUND, str(exc)[:120])
        return
    except SignatureError as exc:
        await websocket.close(CLOSE_FORBIDDEN, str(exc)[:120])
        return
    await ChatSocket(container, websocket, widget, visitor_id, token).run()
