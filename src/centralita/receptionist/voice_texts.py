"""What a caller hears around the conversation (queues, voicemail, transfers), and what the
staff read about it, in Spanish and English; and the few words a caller may say to choose a
callback or a voicemail. Pure."""

from __future__ import annotations

import re
import unicodedata

TEXTS: dict[str, dict[str, str]] = {
    "recording_notice": {
        "es": "Le informamos de que esta llamada puede ser grabada. {tenant} tratará sus datos "
        "para atender su consulta; puede pedir acceso a ellos o su supresión.",
        "en": "Please note that this call may be recorded. {tenant} uses your details to deal "
        "with your call; you may ask to see them or to have them erased.",
    },
    "hold": {"es": "Un momento, por favor.", "en": "One moment, please."},
    "nobody_now": {
        "es": "Ahora mismo no hay nadie disponible para atenderle.",
        "en": "Nobody is available to take your call right now.",
    },
    "nobody_call_back": {
        "es": "Ahora mismo no hay nadie disponible. Le llamaremos en cuanto sea posible. Adiós.",
        "en": "Nobody is available right now. We will call you back as soon as we can. Goodbye.",
    },
    "voicemail_prompt": {
        "es": "Deje su mensaje después de la señal y pulse almohadilla al terminar.",
        "en": "Please leave your message after the tone, and press the hash key when you finish.",
    },
    "voicemail_thanks": {
        "es": "Gracias, hemos recibido su mensaje. Adiós.",
        "en": "Thank you, we have your message. Goodbye.",
    },
    "goodbye": {"es": "Gracias por llamar. Adiós.", "en": "Thank you for calling. Goodbye."},
    "queue_failed": {
        "es": "Lo sentimos, ahora mismo no podemos mantenerle en espera.",
        "en": "We are sorry, we cannot keep you on hold right now.",
    },
    "callback_taken": {
        "es": "De acuerdo, le llamaremos sin que pierda su turno. Adiós.",
        "en": "All right, we will call you back and you keep your place. Goodbye.",
    },
    "still_waiting": {
        "es": "De acuerdo, sigue en espera.",
        "en": "All right, you are still on hold.",
    },
    "position_next": {"es": "Es usted el siguiente.", "en": "You are next in line."},
    "position": {
        "es": "Hay {ahead} personas delante de usted.",
        "en": "There are {ahead} callers ahead of you.",
    },
    "position_one_ahead": {
        "es": "Hay una persona delante de usted.",
        "en": "There is one caller ahead of you.",
    },
    "wait_minutes": {
        "es": "El tiempo de espera estimado es de unos {minutes} minutos.",
        "en": "The expected wait is about {minutes} minutes.",
    },
    "wait_minute": {
        "es": "El tiempo de espera estimado es de un minuto o menos.",
        "en": "The expected wait is a minute or less.",
    },
    "wait_unknown": {
        "es": "Le atenderemos en cuanto haya alguien disponible.",
        "en": "We will be with you as soon as someone is free.",
    },
    "offer_callback": {
        "es": "Si prefiere que le llamemos sin perder su turno, pulse 1 o diga «llamadme».",
        "en": "If you would rather be called back and keep your place, press 1 or say "
        "«call me back».",
    },
    # for the staff
    "callback_summary": {
        "es": "Devolver la llamada a {caller}: eligió que le llamáramos mientras esperaba.",
        "en": "Call {caller} back: they chose a callback while waiting in the queue.",
    },
    "voicemail_summary": {
        "es": "Mensaje de voz de {caller}: «{text}»",
        "en": "Voicemail from {caller}: “{text}”",
    },
    "voicemail_untranscribed": {
        "es": "Mensaje de voz de {caller}, sin transcripción: escuche la grabación.",
        "en": "Voicemail from {caller} with no transcript: please listen to the recording.",
    },
    "recording_at": {"es": "Grabación: {url}", "en": "Recording: {url}"},
}


def say(key: str, language: str, **values: str) -> str:
    text = TEXTS[key].get(language) or TEXTS[key]["es"]
    return text.format(**values) if values else text


def queue_announcement(
    language: str, *, position: int | None, average_wait: int | None, offer_callback: bool
) -> tuple[str, ...]:
    """The place in the queue (Twilio's ``QueuePosition``, 1 = next) and the expected wait
    (``AvgQueueTime``, seconds), each said only when known."""
    words: list[str] = []
    if position == 1:
        words.append(say("position_next", language))
    elif position == 2:
        words.append(say("position_one_ahead", language))
    elif position is not None and position > 2:
        words.append(say("position", language, ahead=str(position - 1)))
    if average_wait is not None and average_wait > 0:
        minutes = -(-average_wait // 60)  # rounded up: better early than late
        if minutes <= 1:
            words.append(say("wait_minute", language))
        else:
            words.append(say("wait_minutes", language, minutes=str(minutes)))
    else:
        words.append(say("wait_unknown", language))
    if offer_callback:
        words.append(say("offer_callback", language))
    return tuple(words)


def _plain(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in folded if not unicodedata.combining(c))


_CALLBACK = re.compile(
    r"\b(llamad(me|nos)|llamen(me|nos)|llameme|llamarme|devolver(me)? la llamada|"
    r"que me llamen|call me( back)?|call back|callback|ring me back)\b"
)
_VOICEMAIL = re.compile(
    r"\b(buzon( de voz)?|mensaje de voz|mensaje grabado|grabar un mensaje|"
    r"voice ?mail|voice message|recorded message|record a message)\b"
)


def wants_callback(text: str, digits: str = "") -> bool:
    """The caller pressed 1 or asked to be called back."""
    return digits.strip() == "1" or bool(_CALLBACK.search(_plain(text)))


def asks_for_voicemail(text: str) -> bool:
    """The caller asked to leave a voicemail (not a message taken by the receptionist)."""
    return bool(_VOICEMAIL.search(_plain(text)))
