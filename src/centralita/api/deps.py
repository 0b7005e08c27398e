"""FastAPI dependencies: the only place request objects turn into plain arguments."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from centralita.access import service as access_service
from centralita.access.key_cache import PrincipalCache
from centralita.access.models import Role
from centralita.access.principal import Principal
from centralita.bootstrap import Container
from centralita.core.errors import InvalidInput, PermissionDenied, Unauthenticated
from centralita.core.ids import ID_PATTERN
from centralita.web import csrf

SESSION_COOKIE = "centralita_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _check_csrf(request: Request) -> None:
    """A browser session changing data must prove it is our page: the X-CSRF-Token header."""
    signer = getattr(request.app.state, "csrf_signer", None)
    if signer is None:
        raise PermissionDenied("web sessions cannot change data without a secret key")
    try:
        csrf.check_header(signer, request)
    except csrf.CsrfError as exc:
        raise PermissionDenied(f"CSRF check failed: {exc}") from exc


def container_of(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


async def get_container(request: Request) -> Container:
    """Async, like every dependency here: FastAPI runs a plain ``def`` dependency in its
    thread pool, a thread hop per request for a dictionary lookup."""
    return container_of(request)


async def get_db(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed when the endpoint returns, rolled back if not.

    Used with ``scope="function"`` (``DbSession``): the commit happens before the response
    is sent, so a client never gets a 2xx for a change that then failed to commit. FastAPI's
    default for dependencies with ``yield`` runs their exit after the response is sent."""
    container = container_of(request)
    async with container.sessions() as session, session.begin():
        yield session


ContainerDep = Annotated[Container, Depends(get_container)]
DbSession = Annotated[AsyncSession, Depends(get_db, scope="function")]


def principal_cache(request: Request) -> PrincipalCache:
    """This process's verified API keys (``access.key_cache``), one per application."""
    state = request.app.state
    cache: PrincipalCache | None = getattr(state, "principal_cache", None)
    if cache is None:
        cache = state.principal_cache = PrincipalCache()
    return cache


async def _api_key_principal(request: Request, db: AsyncSession, token: str) -> Principal | None:
    cache = principal_cache(request)
    digest = access_service.api_key_digest(token)
    now = cache.clock()
    principal = cache.get(digest, now=now)
    if principal is None:
        generation = cache.generation
        principal = await access_service.authenticate_api_key(db, token=token)
        if principal is not None:
            cache.put(digest, principal, now=now, generation=generation)
    return principal


async def forget_principals_after_commit(request: Request) -> AsyncIterator[None]:
    """For endpoints that revoke keys or disable users: the cache forgets every principal
    once the change is committed. Declare it before any parameter that needs the database:
    dependencies exit in reverse order, so its exit then runs after ``get_db``'s commit."""
    try:
        yield
    finally:
        principal_cache(request).forget_all()


ForgetPrincipals = Annotated[None, Depends(forget_principals_after_commit, scope="function")]


async def get_principal(request: Request, db: DbSession) -> Principal:
    auth = request.headers.get("authorization", "")
    if auth:
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated("use Authorization: Bearer <API key>")
        principal = await _api_key_principal(request, db, token.strip())
        if principal is None:
            raise Unauthenticated("invalid or revoked API key")
        return principal
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        settings = container_of(request).settings
        principal = await access_service.resolve_session(
            db, token=cookie, idle=timedelta(minutes=settings.session_idle_minutes)
        )
        if principal is not None:
            if request.method not in SAFE_METHODS:
                _check_csrf(request)
            return principal
    raise Unauthenticated("authentication required: an API key or a web session")


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def require(role: Role):  # type: ignore[no-untyped-def]
    async def check(principal: CurrentPrincipal) -> Principal:
        if not principal.at_least(role):
            raise PermissionDenied(f"this needs the {role.value} role")
        return principal

    return Depends(check)


AdminPrincipal = Annotated[Principal, require(Role.ADMIN)]


class PageParams:
    def __init__(self, limit: int = 50, cursor: str | None = None) -> None:
        self.limit = limit
        self.cursor = cursor


async def _paging(
    limit: Annotated[int, Query(ge=1, le=200, description="Items per page")] = 50,
    cursor: Annotated[
        str | None,
        Query(max_length=40, pattern=ID_PATTERN, description="next_cursor from the previous page"),
    ] = None,
) -> PageParams:
    return PageParams(limit, cursor)


Paging = Annotated[PageParams, Depends(_paging)]


async def reject_nul(request: Request) -> None:
    """PostgreSQL text cannot hold NUL: refuse it up front rather than fail half-way (a 500)."""
    for name, value in request.query_params.multi_items():
        if "\x00" in value:
            raise InvalidInput.for_field(f"query.{name}", "NUL characters are not allowed")
    if request.method in SAFE_METHODS:
        return
    body = await request.body()  # cached by Starlette; the endpoint reads it again for free
    if b"\x00" in body or b"\\u0000" in body:
        raise InvalidInput.for_field("body", "NUL characters are not allowed")
