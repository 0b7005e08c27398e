"""Card numbers and security codes are redacted; phones, dates and times are not."""

from __future__ import annotations

import pytest

from centralita.receptionist.nlu.redaction import luhn_valid, redact_cards


@pytest.mark.parametrize(
    ("text", "expected", "count"),
    [
        ("4111 1111 1111 1111", "[card]", 1),
        ("4111-1111-1111-1111", "[card]", 1),
        ("4111111111111111", "[card]", 1),
        ("4111.1111.1111.1111", "[card]", 1),
        (
            "mi tarjeta es 4111 1111 1111 1111 y el cvv 123",
            "mi tarjeta es [card] y el cvv [code]",
            2,
        ),
        ("card 5555 5555 5555 4444, security code 1234", "card [card], security code [code]", 2),
        ("Visa 4111 1111 1111 1111 exp 04/28 code 321", "Visa [card] exp 04/28 code [code]", 2),
        ("4111 1111 1111 1111 123", "[card] [code]", 2),  # a bare code right after
        ("tarjeta 4111 1111 1111 1111, código: 987", "tarjeta [card], código: [code]", 2),
        ("amex 3782 822463 10005", "amex [card]", 1),
        ("el número es 4111 1111, 1111 1111", "el número es [card]", 1),  # read in two breaths
        ("4111  1111\n1111   1111", "[card]", 1),
        (
            "cuatro uno uno uno uno uno uno uno uno uno uno uno uno uno uno uno",
            "[card]",
            1,
        ),
        (
            "four one one one one one one one one one one one one one one one, cvv one two three",
            "[card], cvv [code]",
            2,
        ),
        ("mi cvv es 987", "mi cvv es [code]", 1),  # an explicit CVV is redacted on its own
    ],
)
def test_redacts(text: str, expected: str, count: int) -> None:
    assert redact_cards(text) == (expected, count)


@pytest.mark.parametrize(
    "text",
    [
        "llámame al 612 345 678",
        "+34 612345678",
        "mi número es 612345678 y el de mi mujer 699 111 222",
        "600 11 12 22",
        "call me on 07911 123456",
        "la cita es el 12/03/2026 a las 17:30",
        "código postal 28028",
        "4111 1111 1111 1112",  # fails the Luhn check
        "la factura 2024 1234 5678 9012",  # not Luhn-valid either
        "1234567890123",  # starts with 1: no card network
        "mi DNI es 12345678Z",
        "pedido número 3",
        "",
    ],
)
def test_leaves_alone(text: str) -> None:
    assert redact_cards(text) == (text, 0)


def test_phone_after_a_card_is_not_a_code() -> None:
    text = "4111 1111 1111 1111 caduca 12/27 cvv 123, llámame al 612 345 678"
    assert redact_cards(text) == (
        "[card] caduca 12/27 cvv [code], llámame al 612 345 678",
        2,
    )


def test_two_cards() -> None:
    text = "la mía 4111111111111111 y la de mi hijo 5555 5555 5555 4444"
    assert redact_cards(text) == ("la mía [card] y la de mi hijo [card]", 2)


def test_long_input_is_handled() -> None:
    text = "1 " * 5000 + "4111 1111 1111 1111"
    redacted, count = redact_cards(text)
    assert redacted.endswith("[card]")
    assert count >= 1


@pytest.mark.parametrize(
    ("digits", "valid"),
    [("4111111111111111", True), ("4111111111111112", False), ("378282246310005", True)],
)
def test_luhn(digits: str, valid: bool) -> None:
    assert luhn_valid(digits) is valid
