"""A local stand-in for Twilio's Messages and Calls REST APIs, built from its documented wire
format.

``POST /2010-04-01/Accounts/{AccountSid}/Messages.json``, form-encoded ``To``, ``From``, ``Body``
and ``StatusCallback``, HTTP Basic auth with the account SID and auth token; 201 with the
Message resource as JSON (``sid`` "SM" + 32 hex, ``status`` "queued"), or an error body
``{"code", "message", "more_info", "status"}``. It records every request it accepted.

``POST /2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json`` ("update a call"), form-encoded
``Url`` and ``Method``: 200 with the Call resource when the call is live (``live``), else 404
with ``{"code": 21220, "message": "Call is not in-progress. Cannot redirect.", "status": 404}``.
Every such request is recorded in ``redirects``, with the status it was answered.

``GET /2010-04-01/Accounts/{AccountSid}/Messages.json`` ("list messages"), with the optional
filters ``To``, ``From``, ``DateSent>`` (on or after that UTC date, ``YYYY-MM-DD``) and
``PageSize``: 200 with ``{"messages": [...], "page", "page_size", "next_page_uri", ...}``, the
most recent first, each Message resource with ``date_created`` in RFC 2822 form. It is what
a sender asks after a crash to learn whether a message already went out.
"""

from __future__ import annotations

import base64
import re
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.channels.stand_in import JsonHandler, serve


@dataclass
class FakeTwilio:
    url: str
    account_sid: str
    auth_token: str
    sent: list[dict[str, Any]] = field(default_factory=list)
    # (status, code, message) answers for the next requests, in order
    failures: list[tuple[int, int, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # CallSid -> its status ("in-progress", "queued", "completed", ...): the calls it knows
    calls: dict[str, str] = field(default_factory=dict)
    redirects: list[dict[str, Any]] = field(default_factory=list)

    def live(self, call_sid: str, status: str = "in-progress") -> None:
        """A call Twilio has under way (a redirect of any other call is refused)."""
        with self.lock:
            self.calls[call_sid] = status

    def hang_up(self, call_sid: str) -> None:
        with self.lock:
            self.calls[call_sid] = "completed"


_CALL_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<account>[^/]+)/Calls/(?P<call>[^/]+)\.json$")
_NOT_IN_PROGRESS = "Call is not in-progress. Cannot redirect."


def _handler(state: FakeTwilio) -> type[BaseHTTPRequestHandler]:
    class Handler(JsonHandler):
        def do_POST(self) -> None:
            raw = self.read_body().decode()
            expected_path = f"/2010-04-01/Accounts/{state.account_sid}/Messages.json"
            auth = self.headers.get("Authorization", "")
            token = base64.b64encode(f"{state.account_sid}:{state.auth_token}".encode()).decode()
            if auth != f"Basic {token}":
                self.reply(401, {"code": 20003, "message": "Authenticate", "status": 401})
                return
            call = _CALL_PATH.match(self.path)
            if call is not None and call["account"] == state.account_sid:
                self._update_call(call["call"], raw)
                return
            if self.path != expected_path:
                self.reply(404, {"code": 20404, "message": "not found", "status": 404})
                return
            with state.lock:
                failure = state.failures.pop(0) if state.failures else None
            if failure is not None:
                status, code, message = failure
                self.reply(status, {"code": code, "message": message, "status": status})
                return
            form = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
            if not form.get("To") or not form.get("From") or "Body" not in form:
                self.reply(
                    400,
                    {"code": 21604, "message": "A 'To' phone number is required.", "status": 400},
                )
                return
            sid = "SM" + secrets.token_hex(16)
            created = datetime.now(UTC)
            with state.lock:
                state.sent.append({"sid": sid, "date_created": created, **form})
            self.reply(
                201,
                {
                    "sid": sid,
                    "account_sid": state.account_sid,
                    "to": form["To"],
                    "from": form["From"],
                    "body": form["Body"],
                    "status": "queued",
                    "date_created": format_datetime(created),
                    "api_version": "2010-04-01",
                },
            )

        def do_GET(self) -> None:
            auth = self.headers.get("Authorization", "")
            token = base64.b64encode(f"{state.account_sid}:{state.auth_token}".encode()).decode()
            if auth != f"Basic {token}":
                self.reply(401, {"code": 20003, "message": "Authenticate", "status": 401})
                return
            parts = urlsplit(self.path)
            if parts.path != f"/2010-04-01/Accounts/{state.account_sid}/Messages.json":
                self.reply(404, {"code": 20404, "message": "not found", "status": 404})
                return
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            since = query.get("DateSent>")
            size = int(query.get("PageSize") or 50)
            with state.lock:
                found = [
                    m for m in reversed(state.sent)
                    if query.get("To") in (None, m["To"])
                    and query.get("From") in (None, m["From"])
                    and (since is None or m["date_created"].date().isoformat() >= since)
                ][:size]  # fmt: skip
            messages = [
                {"sid": m["sid"], "account_sid": state.account_sid, "to": m["To"],
                 "from": m["From"], "body": m["Body"], "status": "sent",
                 "date_created": format_datetime(m["date_created"]),
                 "date_sent": format_datetime(m["date_created"])}
                for m in found
            ]  # fmt: skip
            self.reply(200, {"messages": messages, "page": 0, "page_size": size,
                             "uri": self.path, "first_page_uri": self.path,
                             "next_page_uri": None, "previous_page_uri": None})  # fmt: skip

        def _update_call(self, call_sid: str, raw: str) -> None:
            form = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
            with state.lock:
                failure = state.failures.pop(0) if state.failures else None
                status = state.calls.get(call_sid)
            if failure is not None:
                code_status, code, message = failure
                answer = (code_status, {"code": code, "message": message, "status": code_status})
            elif not form.get("Url", "").startswith(("https://", "http://")):
                answer = (400, {"code": 21205, "message": "Url is not a valid URL.", "status": 400})
            elif status is None or status not in ("queued", "ringing", "in-progress"):
                answer = (404, {"code": 21220, "message": _NOT_IN_PROGRESS, "status": 404})
            else:
                resource = {"sid": call_sid, "account_sid": state.account_sid,
                            "status": status, "api_version": "2010-04-01"}  # fmt: skip
                answer = (200, resource)
            with state.lock:
                state.redirects.append({"call_sid": call_sid, "status": answer[0], **form})
            self.reply(*answer)

    return Handler


@contextmanager
def fake_twilio(account_sid: str, auth_token: str) -> Iterator[FakeTwilio]:
    state = FakeTwilio("", account_sid, auth_token)
    with serve(lambda _: _handler(state)) as url:
        state.url = url
        yield state
