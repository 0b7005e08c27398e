"""The baseline for benchmarks/ingest.py: a raw ASGI callable that reads the body and acks it.

It parses the body as its content type says (JSON, a form as Twilio posts, or a mail's
headers) and echoes its
id, as the adapters' acknowledgements do, and is served by uvicorn with the settings
`centralita serve` uses. The gap between this and the real server is what Centralita itself
costs per message.

    python benchmarks/bare_asgi.py --port 8001
"""

from __future__ import annotations

import argparse
import json
from email.parser import BytesHeaderParser
from typing import Any
from urllib.parse import parse_qs

import uvicorn

Scope = dict[str, Any]


async def app(scope: Scope, receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    headers = dict(scope.get("headers") or [])
    content_type = headers.get(b"content-type", b"")
    try:
        if content_type.startswith(b"message/rfc822"):
            ids = [BytesHeaderParser().parsebytes(body)["Message-ID"]]
            if not ids[0]:
                raise KeyError("no Message-ID")
        elif content_type.startswith(b"application/x-www-form-urlencoded"):
            form = parse_qs(body.decode(), strict_parsing=True)
            ids = (form.get("MessageSid") or form.get("CallSid") or [])[:1]
            if not ids:
                raise KeyError("no id")
        else:
            data = json.loads(body) if body else {}
            ids = [data["id"] if "id" in data else data["entry"][0]["id"]] if data else []
        status, payload = 200, json.dumps({"accepted": ids}).encode()
    except (ValueError, KeyError, TypeError, IndexError):
        status, payload = 400, b'{"title":"bad request"}'
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args()
    # The same uvicorn options as centralita.cli.server.run_server.
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        proxy_headers=True,
        server_header=False,
        lifespan="on",
    )


if __name__ == "__main__":
    main()
