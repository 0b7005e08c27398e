"""``centralita nlu``: one utterance, or JSON Lines in and out, with or without a tenant."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from centralita.cli.main import cli

NOW = "2026-11-20T10:00:00+01:00"  # a Friday


def run(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["nlu", *args], input=stdin)
    return result.exit_code, result.output


def test_one_utterance_with_a_demo_tenant() -> None:
    code, output = run(
        "Hola, soy Marta Ruiz, quería pedir cita con la higienista el martes a las 10, "
        "mi móvil es 612 345 678",
        "--tenant",
        "clinica-dental-sonrisa",
        "--now",
        NOW,
    )
    assert code == 0, output
    data = json.loads(output)
    assert data["language"] == "es"
    assert data["intent"] == "appointment_book"
    assert data["spam"] is False
    assert data["entities"] == {
        "name": "Marta Ruiz",
        "phone": "+34612345678",
        "email": None,
        "datetime": "2026-11-24T10:00:00+01:00",
        "staff": "Paula Sanz Romero",
    }


def test_tenant_yaml_file_gives_zone_and_staff() -> None:
    path = Path(__file__).parents[2] / "src/centralita/demo/tenants/hartley-law.yaml"
    code, output = run(
        "Can I speak to Mrs Hartley tomorrow at 3pm?", "--tenant", str(path), "--now", NOW
    )
    assert code == 0, output
    data = json.loads(output)
    assert data["language"] == "en"
    assert data["entities"]["staff"] == "Eleanor Hartley"
    assert data["entities"]["datetime"] == "2026-11-21T15:00:00+00:00"  # Europe/London


def test_without_tenant_madrid_and_spain() -> None:
    code, output = run("llámame mañana a las 5 de la tarde al 612 345 678", "--now", NOW)
    assert code == 0, output
    entities = json.loads(output)["entities"]
    assert entities["phone"] == "+34612345678"
    assert entities["datetime"] == "2026-11-21T17:00:00+01:00"


def test_lang_forces_the_language() -> None:
    code, output = run("ok", "--lang", "en")
    assert code == 0
    assert json.loads(output)["language"] == "en"


def test_card_is_redacted_in_the_output() -> None:
    code, output = run("mi tarjeta es 4111 1111 1111 1111, cvv 123")
    assert code == 0
    assert "4111" not in output and "123" not in output
    assert json.loads(output)["text"] == "mi tarjeta es [card], cvv [code]"


def test_bad_arguments() -> None:
    assert run()[0] == 2  # neither TEXT nor --jsonl
    assert run("hola", "--lang", "fr")[0] == 2
    code, output = run("hola", "--tenant", "no-such-tenant")
    assert code == 1
    assert "no demo tenant" in output
    code, output = run("hola", "--now", "yesterday")
    assert code == 1
    assert "ISO 8601" in output
    assert run("--jsonl", "/no/such/file.jsonl")[0] == 2


def test_jsonl_from_stdin_keeps_order_and_reports_bad_lines() -> None:
    lines = [
        json.dumps({"text": "Quiero cancelar mi cita del lunes"}),
        "this is not json",
        json.dumps({"lang": "es"}),
        "",
        json.dumps({"text": "Can I book a cleaning?", "tenant": "hartley-law"}),
        json.dumps({"text": "hola", "tenant": "nope"}),
        json.dumps(["a list"]),
        json.dumps({"text": "vale", "lang": 3}),
        json.dumps({"text": "", "lang": "en"}),
    ]
    code, output = run("--jsonl", "-", "--now", NOW, stdin="\n".join(lines) + "\n")
    assert code == 0, output
    rows = [json.loads(line) for line in output.splitlines()]
    assert len(rows) == 8  # the blank line is skipped
    assert rows[0]["intent"] == "appointment_change"
    assert "not JSON" in rows[1]["error"]
    assert rows[2] == {"error": 'missing "text" (a string)'}
    assert rows[3]["language"] == "en"
    assert "no demo tenant" in rows[4]["error"]
    assert rows[5] == {"error": "each line must be a JSON object"}
    assert rows[6] == {"error": '"lang" must be a string'}
    assert rows[7]["intent"] == "other" and rows[7]["language"] == "en"


def test_jsonl_as_a_subprocess(tmp_path: Path) -> None:
    source = tmp_path / "turns.jsonl"
    source.write_text(
        "\n".join(
            json.dumps(item, ensure_ascii=False)
            for item in (
                {"text": "Le llamo para ofrecerle posicionamiento web para su clínica"},
                {"text": "me sangra mucho la boca", "tenant": "clinica-dental-sonrisa"},
                {"text": "agent please", "lang": "en"},
            )
        ),
        encoding="utf-8",
    )
    command = [sys.executable, "-m", "centralita"]
    done = subprocess.run(
        [*command, "nlu", "--jsonl", str(source), "--now", NOW],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["intent"] for r in rows] == ["sales_spam", rows[1]["intent"], "message_for_staff"]
    assert rows[0]["spam"] is True
    assert rows[1]["urgency"] == "emergency"
    assert rows[2]["wants_human"] is True
