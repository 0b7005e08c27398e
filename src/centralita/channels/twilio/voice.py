"""Twilio-compatible voice, turn by turn: the receptionist's words as TwiML.

The number's "A call comes in" webhook and its status callback both point at the account's
hook URL. Each request is signed like SMS (``signature.py``). What comes in:

- **call start** (``CallStatus`` ringing or in-progress, no ``turn`` in the query): a call event
  is stored, and we answer with the recording notice when the tenant records calls, then the
  greeting inside ``<Gather input="speech">``;
- **a turn** (``?turn=N`` on the Gather's action URL, ``SpeechResult``): stored as the caller's
  message ``{CallSid}:{N}``; the receptionist answers in the same request, and its replies are
  spoken inside the next ``<Gather>``;
- **silence** (``?turn=N`` without ``SpeechResult``): a short re-prompt;
- **the end** (``CallStatus`` completed, busy, no-answer, failed or canceled, with
  ``CallDuration``): stored as a call event; answered with an empty ``<Response/>``.

The language of ``<Say>`` and of the speech recogniser is the conversation's (``es-ES`` or the
account's ``settings.voice_language``), so a caller who switches language is heard in it.
Transfers, queueing and voicemail are later slices.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import parse_qs
from xml.sax.saxutils import escape, quoteattr

from centralita.channels.base import (
    AccountConfig,
    Address,
    ChannelKind,
    HttpInbound,
    HttpOutbound,
    InboundMessage,
    MalformedRequest,
    ParsedRequest,
    Spoken,
)

ENDED = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})
LIVE = frozenset({"ringing", "in-progress", "queued", "initiated"})
_VOICES = {"es": "es-ES", "en": "en-GB"}
_REPROMPT = {
    "es": "¿Sigue ahí? Dígame en qué puedo ayudarle.",
    "en": "Are you still there? How can I help?",
}
_NOBODY = {
    "es": "Ahora mismo no hay nadie disponible. Le llamaremos en cuanto sea posible. Adiós.",
    "en": "Nobody is available right now. We will call you back as soon as we can. Goodbye.",
}
_GOODBYE = {"es": "Gracias por llamar. Adiós.", "en": "Thank you for calling. Goodbye."}
MAX_SILENCES = 2


def _one(form: dict[str, list[str]], name: str) -> str | None:
    values = form.get(name)
    return values[0] if values else None


def parse_voice(
    form: dict[str, list[str]], query: dict[str, str], account: AccountConfig
) -> ParsedRequest:
    call = _one(form, "CallSid")
    if not call or len(call) > 64:
        raise MalformedRequest("CallSid: required, at most 64 characters")
    caller = _one(form, "From") or ""
    status = _one(form, "CallStatus") or ""
    turn = query.get("turn")
    if turn is not None and (not turn.isdigit() or not 1 <= int(turn) <= 500):
        raise MalformedRequest("turn: a number from 1 to 500")
    silent = query.get("silent", "0")
    if not silent.isdigit() or int(silent) > 10:
        raise MalformedRequest("silent: a number from 0 to 10")
    speech = (_one(form, "SpeechResult") or "").strip()
    base = {"call_sid": call, "call_status": status}
    if query.get("dialed") == "1":
        dial_status = _one(form, "DialCallStatus") or ""
        return _message(call, f"{call}:dialed:{turn or 0}", caller, "", "event",
                        {**base, "event": "dialed", "dial_status": dial_status,
                         "dial_duration": _one(form, "DialCallDuration")}, account)  # fmt: skip
    if turn is not None and speech:
        confidence = _one(form, "Confidence")
        return _message(call, f"{call}:{turn}", caller, speech, "text",
                        {**base, "turn": int(turn), "confidence": confidence}, account)  # fmt: skip
    if turn is not None:
        return _message(call, f"{call}:{turn}:silent{silent}", caller, "", "event",
                        {**base, "turn": int(turn), "event": "silence",
                         "silent": int(silent)}, account)  # fmt: skip
    if status in ENDED:
        duration = _one(form, "CallDuration")
        return _message(call, f"{call}:end", caller, "", "event",
                        {**base, "event": "ended", "duration": duration}, account)  # fmt: skip
    if status in LIVE or not status:
        return _message(call, f"{call}:start", caller, "", "event",
                        {**base, "event": "start"}, account)  # fmt: skip
    raise MalformedRequest(f"CallStatus: unknown value {status!r}")


def _message(
    call: str, sid: str, caller: str, text: str, kind: str, meta: dict[str, object],
    account: AccountConfig,
) -> ParsedRequest:  # fmt: skip
    if not caller:
        raise MalformedRequest("From: required")
    return ParsedRequest(
        messages=(
            InboundMessage(
                channel=ChannelKind.VOICE,
                provider_message_id=sid,
                sender=Address("phone", caller),
                text=text,
                recipient=account.address,
                kind=kind,
                thread_key=call,
                metadata=meta,
            ),
        )
    )


def form_of(request: HttpInbound) -> dict[str, list[str]]:
    try:
        return parse_qs(request.body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError as exc:
        raise MalformedRequest("body: not UTF-8") from exc


def twiml(
    parsed: ParsedRequest, account: AccountConfig, spoken: Spoken | None, *, hook_url: str
) -> HttpOutbound:
    """The TwiML answer to one voice webhook."""
    message = parsed.messages[0] if parsed.messages else None
    meta = dict(message.metadata) if message else {}
    event = meta.get("event")
    if message is None or event == "ended":
        return _xml("<Response></Response>")
    if event == "dialed":
        language = spoken.language if spoken else _language_of(account)
        if meta.get("dial_status") == "completed":
            return _xml("<Response><Hangup/></Response>")
        sorry = _NOBODY[language]
        return _xml(f"<Response>{_say(sorry, _voice(account, language))}<Hangup/></Response>")
    language = spoken.language if spoken else _language_of(account)
    voice = _voice(account, language)
    notice = "".join(_say(t, voice) for t in (spoken.notice if spoken else ()))
    turn = int(str(meta.get("turn", 0)))
    silent = 0
    if event == "silence":
        silent = int(str(meta.get("silent", 0))) + 1
        if silent > MAX_SILENCES:
            return _xml(f"<Response>{_say(_GOODBYE[language], voice)}<Hangup/></Response>")
        texts: Sequence[str] = [_REPROMPT[language]]
        next_turn = turn  # nothing was said: the same turn again
    else:
        texts = spoken.texts if spoken else ()
        next_turn = turn + 1
    said = "".join(_say(t, voice) for t in texts)
    if spoken is not None and spoken.end_call:
        return _xml(f"<Response>{notice}{said}<Hangup/></Response>")
    if spoken is not None and spoken.dial:
        return _xml(f"<Response>{notice}{said}{_dial(spoken, hook_url, next_turn)}</Response>")
    action = f"{hook_url}?turn={next_turn}"
    gather = (
        f'<Gather input="speech" action={quoteattr(action)} method="POST" '
        f'language={quoteattr(voice)} speechTimeout="auto">{said}</Gather>'
    )
    # no speech at all: Twilio goes on to the Redirect, which comes back as a silent turn
    redirect = f'<Redirect method="POST">{escape(f"{action}&silent={silent}")}</Redirect>'
    return _xml(f"<Response>{notice}{gather}{redirect}</Response>")


def _dial(spoken: Spoken, hook_url: str, turn: int) -> str:
    """Connect the caller; the callee first hears the intake summary (the whisper)."""
    target = spoken.dial or ""
    after = f"{hook_url}?turn={turn}&dialed=1"
    whisper = f"{hook_url}/whisper/{spoken.whisper_id}" if spoken.whisper_id else ""
    url = f' url={quoteattr(whisper)} method="POST"' if whisper else ""
    noun = "Sip" if target.startswith(("sip:", "sips:")) else "Number"
    return (
        f'<Dial action={quoteattr(after)} method="POST" timeout="25">'
        f"<{noun}{url}>{escape(target)}</{noun}></Dial>"
    )


def whisper_twiml(summary: str, language: str) -> HttpOutbound:
    """What the person who picks up hears before the caller is connected."""
    voice = _VOICES.get(language, "es-ES")
    return _xml(f"<Response>{_say(summary, voice)}</Response>")


def _voice(account: AccountConfig, language: str) -> str:
    configured = str(account.settings.get("voice_language") or "")
    if configured and configured[:2].lower() == language:
        return configured
    return _VOICES.get(language, "es-ES")


def _language_of(account: AccountConfig) -> str:
    configured = str(account.settings.get("voice_language") or "es-ES")
    return configured[:2].lower()


def _say(text: str, voice: str) -> str:
    return f"<Say language={quoteattr(voice)}>{escape(text)}</Say>"


def _xml(body: str) -> HttpOutbound:
    return HttpOutbound(200, ('<?xml version="1.0" encoding="UTF-8"?>' + body).encode(), "text/xml")
