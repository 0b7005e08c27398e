"""A recorded line says so first, in the caller's language, in the tenant's own words."""

from __future__ import annotations

import httpx
import pytest

from centralita.bootstrap import Container
from tests.privacy.voice import call, says, voice_clinic

OWN = {
    "es": "Esta llamada se graba para mejorar la atención. Política de privacidad en la web.",
    "en": "This call is recorded to improve our service. Our privacy policy is on the web.",
}


@pytest.mark.parametrize(
    ("language", "default_words"),
    [("es-ES", "puede ser grabada"), ("en-US", "may be recorded")],
)
async def test_the_default_notice_names_the_business(
    container: Container, client: httpx.AsyncClient, language: str, default_words: str
) -> None:
    _, account = await voice_clinic(container, language=language)
    r = await call(client, account, CallStatus="ringing")
    assert r.status_code == 200, r.text
    spoken = says(r.text)
    assert default_words in spoken[0]
    assert "Clínica Dental Sonrisa" in spoken[0]  # who processes the data
    assert default_words not in " ".join(spoken[1:])  # said once, before the greeting


@pytest.mark.parametrize("language", ["es-ES", "en-GB"])
async def test_the_tenant_notice_comes_first(
    container: Container, client: httpx.AsyncClient, language: str
) -> None:
    _, account = await voice_clinic(container, language=language, privacy={"recording_notice": OWN})
    r = await call(client, account, CallStatus="ringing")
    spoken = says(r.text)
    assert spoken[0] == OWN[language[:2]]
    assert OWN["es" if language[:2] == "en" else "en"] not in r.text


async def test_an_unrecorded_line_says_nothing_about_recording(
    container: Container, client: httpx.AsyncClient
) -> None:
    _, account = await voice_clinic(
        container, record_calls=False, privacy={"recording_notice": OWN}
    )
    r = await call(client, account, CallStatus="ringing")
    assert OWN["es"] not in r.text and "grabada" not in r.text


async def test_a_returning_caller_hears_it_in_their_language(
    container: Container, client: httpx.AsyncClient
) -> None:
    _, account = await voice_clinic(container, language="es-ES", privacy={"recording_notice": OWN})
    first = await call(client, account, CallStatus="ringing")
    assert says(first.text)[0] == OWN["es"]  # nothing known yet: the tenant's language
    r = await call(client, account, "turn=1", SpeechResult="Hello, I would like to book a "
                   "cleaning appointment for next week please", Confidence="0.9")  # fmt: skip
    assert r.status_code == 200, r.text
    await call(client, account, CallStatus="completed")
    second = await call(client, account, CallSid="CA" + "8" * 32, CallStatus="ringing")
    assert says(second.text)[0] == OWN["en"]
