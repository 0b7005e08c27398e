"""What identifies a contact, and scrubbing it out of text and JSON (pure)."""

from __future__ import annotations

import pytest

from centralita.privacy.identifiers import ERASED, contains, needles, scrub_json, scrub_text


def test_needles_cover_every_spelling() -> None:
    found = needles(
        "José Núñez",
        [("phone", "+34611222333"), ("whatsapp", "34611222333"), ("email", "j.n@example.org"),
         ("web", "visitor-123")],
    )  # fmt: skip
    for expected in ("José Núñez", "Jose Nunez", "Jos\\u00e9 N\\u00fa\\u00f1ez", "+34611222333",
                     "34611222333", "j.n@example.org", "visitor-123"):  # fmt: skip
        assert expected in found
    assert found == sorted(found, key=lambda n: (-len(n), n))  # longest first


@pytest.mark.parametrize(
    ("name", "kept"),
    [("Ana", False), ("Ana López", True), ("", False), (None, False), ("Maximiliano", False)],
)
def test_a_name_alone_is_a_needle_only_when_it_is_a_full_name(name: str | None, kept: bool) -> None:
    assert (name in needles(name, [])) is kept


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Llame a José Núñez al +34611222333", f"Llame a {ERASED} al {ERASED}"),
        ("EMAIL: J.N@EXAMPLE.ORG", f"EMAIL: {ERASED}"),
        ("wa 34611222333 ok", f"wa {ERASED} ok"),
        ("nothing here", "nothing here"),
    ],
)
def test_scrub_text(text: str, expected: str) -> None:
    items = needles("José Núñez", [("phone", "+34611222333"), ("email", "j.n@example.org")])
    assert scrub_text(text, items) == expected
    assert contains(text, items) is (text != expected)


def test_scrub_json_reaches_keys_and_nested_values() -> None:
    items = needles(None, [("email", "j.n@example.org")])
    value = {"j.n@example.org": [1, {"to": "j.n@example.org"}, None, True], "n": 2}
    assert scrub_json(value, items) == {ERASED: [1, {"to": ERASED}, None, True], "n": 2}
