"""The README's first command, for real: `centralita demo` serves the demo tenants offline.

A customer writes on WhatsApp through /simulator and the API, with the key the demo printed,
returns the stored conversation.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_demo_serves_the_simulator_and_the_api(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CENTRALITA_")}
    log = tmp_path / "demo.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "centralita",
                "demo",
                "--port",
                str(port),
                "--data-dir",
                str(tmp_path / "demo"),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):  # ready once the NLU models are loaded
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, log.read_text()
            time.sleep(0.2)
        printed = log.read_text()
        assert "centralita-demo" in printed and "/simulator" in printed
        key = re.search(r"clinica-dental-sonrisa\s+(ck_\S+)", printed)
        assert key, printed

        with httpx.Client(base_url=base, timeout=10) as browser:
            page = browser.get("/simulator")
            assert page.status_code == 200
            token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text)
            account = re.search(r'value="(chn_[0-9a-z]+)"', page.text)
            assert token and account, page.text[:2000]
            sent = browser.post(
                "/simulator/api/send",
                headers={"X-CSRF-Token": token.group(1)},
                json={
                    "account_id": account.group(1),
                    "channel": "whatsapp",
                    "address": "34611222333",
                    "name": "Lucía",
                    "text": "Hola, ¿tenéis cita el martes?",
                },
            )
            assert sent.status_code == 201, sent.text
            conversation_id = sent.json()["conversation_id"]

        # The message is stored, and the virtual receptionist answers it (offline NLU).
        deadline = time.monotonic() + 90
        while True:
            api = httpx.get(
                f"{base}/api/v1/conversations/{conversation_id}/messages",
                headers={"Authorization": f"Bearer {key.group(1)}"},
                timeout=10,
            )
            assert api.status_code == 200, api.text
            items = api.json()["items"]
            inbound = [m["body"] for m in items if m["direction"] == "inbound"]
            assert inbound == ["Hola, ¿tenéis cita el martes?"]
            replies = [m for m in items if m["direction"] == "outbound"]
            if replies or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert replies and replies[0]["author_type"] == "bot", items
    finally:
        proc.terminate()
        proc.wait(timeout=10)
