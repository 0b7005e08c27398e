"""Entities in one message: phones, emails, the caller's name, times and staff mentions."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from centralita.receptionist.nlu.entities import (
    Entities,
    extract_entities,
    person_name,
    staff_mentions,
)

MADRID = "Europe/Madrid"
TZ = ZoneInfo(MADRID)
FRIDAY = datetime(2026, 11, 20, 10, 0, tzinfo=TZ)


def extract(text: str, language: str = "es", region: str | None = "ES") -> Entities:
    return extract_entities(
        text,
        language=language,  # type: ignore[arg-type]
        default_region=region,
        now=FRIDAY,
        timezone=MADRID,
    )


@pytest.mark.parametrize(
    ("text", "language", "region", "expected"),
    [
        ("mi móvil es el 600 11 12 22", "es", "ES", ("+34600111222",)),
        ("llámame al +34 600-111-222, gracias", "es", "ES", ("+34600111222",)),
        ("600111222 o 600 11 12 22", "es", "ES", ("+34600111222",)),  # repeats dropped
        ("+34 600-111-222", "es", None, ("+34600111222",)),  # international needs no region
        ("600 11 12 22", "es", None, ()),  # national format needs a region
        ("call me on 07911 123456", "en", "GB", ("+447911123456",)),
        ("my number is +44 20 7123 4567", "en", "ES", ("+442071234567",)),
        # Ofcom's range for drama is not a valid number in libphonenumber's metadata.
        ("07700 900123", "en", "GB", ()),
        ("tengo 3 hijos y 45 años", "es", "ES", ()),
    ],
)
def test_phones(text: str, language: str, region: str | None, expected: tuple[str, ...]) -> None:
    assert extract(text, language, region).phones == expected


def test_phone_digits_are_not_read_as_dates() -> None:
    # Alone, Duckling reads "11 12 22" as 12 November 2022.
    found = extract("call me on 600 11 12 22 tomorrow at 5pm", "en", "ES")
    assert found.phones == ("+34600111222",)
    assert [w.start for w in found.whens] == [datetime(2026, 11, 21, 17, 0, tzinfo=TZ)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mi correo es Ana.Garcia@Example.COM.", ("ana.garcia@example.com",)),
        ("write to bob+citas@clinic.es or bob+citas@clinic.es", ("bob+citas@clinic.es",)),
        ("a@b.es y c@d.com", ("a@b.es", "c@d.com")),
        ("ana@localhost o ana..x@example.com", ()),  # invalid ones are ignored
        ("no tengo email", ()),
    ],
)
def test_emails(text: str, expected: tuple[str, ...]) -> None:
    assert extract(text).emails == expected


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("Hola, me llamo Ana García y quería una cita", "es", "Ana García"),
        ("soy Pedro", "es", "Pedro"),
        ("Buenas, mi nombre es José Luis Pérez Gómez", "es", "José Luis Pérez"),  # 3 words
        ("De parte de Lucía Fernández, de la clínica Dental Sur", "es", "Lucía Fernández"),
        ("Soy Marta de la clínica Sonrisas", "es", "Marta"),
        ("soy el doctor Ruiz", "es", None),  # an article first: unsure
        ("Soy la Dra. Ruiz", "es", None),
        ("Soy Dra. Ruiz", "es", "Ruiz"),
        ("soy de Madrid", "es", None),
        ("me llamo ana", "es", "ana"),  # lower case, as speech-to-text gives, after "me llamo"
        ("hola soy vanesa quería una cita", "es", "vanesa"),  # all lower case: a transcript
        ("hola soy paciente de la doctora", "es", None),  # a word of ours is no name
        ("Hola soy paciente nuevo", "es", None),
        ("this is ann murphy i'm ringing to complain", "en", "ann murphy"),
        ("uh hello i'm supposed to be in at two", "en", None),  # one lower-case word: unsure
        ("I'm currently buying a flat", "en", None),  # capitals elsewhere: not a transcript
        ("buenos dias le llamo de parte de Energía Verde", "es", None),  # a company calling
        ("Can you move my appointment?\n\nThanks,\nHannah Smith", "en", "Hannah Smith"),
        ("need to rescheudle tomorow's appt, thanks, Greta. 634 772 190", "en", "Greta"),
        ("Great, thanks Aoife!", "en", None),  # thanking someone, not signing
        ("can i get an appt for 10am mon? its Ade here", "en", "Ade"),
        ("Estimado cliente: verifique sus datos.\nUn saludo,\nServicio de Seguridad", "es", None),
        ("Soy Yo otra vez", "es", None),
        ("No soy cliente todavía", "es", None),
        ("Hi, my name is John Smith and I need an appointment", "en", "John Smith"),
        ("This is Mary from Acme Dental", "en", "Mary"),
        ("this is Dr. Alan Grant", "en", "Alan Grant"),
        ("I'm Sarah O'Connor", "en", "Sarah O'Connor"),
        ("I’m Tom, calling about my bill", "en", "Tom"),
        ("I'm calling about my bill", "en", None),
        ("This is Don Draper", "en", "Don Draper"),
        ("this is urgent", "en", None),
        ("I'm Sorry, wrong number", "en", None),
        ("my name is", "en", None),
        ("soy Pedro", "en", None),  # rules follow the message's language
    ],
)
def test_person_name(text: str, language: str, expected: str | None) -> None:
    assert person_name(text, language=language) == expected  # type: ignore[arg-type]
    assert extract(text, language).person_name == expected


def test_everything_in_one_message() -> None:
    found = extract(
        "Hola, soy Ana García, mi móvil es el 600 11 12 22 y mi correo ana@example.com; "
        "¿podría ser mañana por la tarde?"
    )
    assert found.person_name == "Ana García"
    assert found.phones == ("+34600111222",)
    assert found.emails == ("ana@example.com",)
    assert len(found.whens) == 1
    assert found.whens[0].start == datetime(2026, 11, 21, 12, 0, tzinfo=TZ)
    assert found.whens[0].is_interval


DIRECTORY = {
    "dr-garcia": ["Dra. García", "Elena García"],
    "pedro": ["Pedro García", "Peter"],
    "dr-lopez": ["Dr López", "Dr. Lopez"],
    "reception": ["Recepción"],
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("quería cita con la doctora García", ["dr-garcia"]),
        ("con la DOCTORA GARCIA por favor", ["dr-garcia"]),
        ("con Elena Garcia", ["dr-garcia"]),
        ("can I speak to Peter?", ["pedro"]),
        ("con Pedro García", ["pedro"]),  # the longer match wins over "García"
        ("García", ["dr-garcia"]),  # only Dr García has the bare surname after titles
        ("el doctor lópez o la doctora garcía", ["dr-lopez", "dr-garcia"]),
        ("pásame con recepcion", ["reception"]),
        ("con el doctor Lopezano", []),  # whole words only
        ("con quien sea", []),
    ],
)
def test_staff_mentions(text: str, expected: list[str]) -> None:
    assert staff_mentions(text, DIRECTORY) == expected


def test_staff_sharing_a_name_are_all_returned() -> None:
    directory = {"ana-1": ["Ana"], "ana-2": ["Ana"], "luis": ["Luis"]}
    assert staff_mentions("con Ana", directory) == ["ana-1", "ana-2"]
    assert staff_mentions("con Luis o Ana", directory) == ["luis", "ana-1", "ana-2"]
