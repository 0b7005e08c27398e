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

What happens *to* a call rather than what the caller says (status callbacks, the results of a
transfer, a queue or a recording, the queue's wait music, transcriptions) is parsed in
``calls.py``; the TwiML for all of it is built here.
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
_GOODBYE = {"es": "Gracias por llamar. Adiós.", "en": "Thank you for calling. Goodbye."}
MAX_SILENCES = 2
VOICEMAIL_MAX_SECONDS = 120
HOLD_PAUSE_SECONDS = 20
# what a caller waiting in a queue may say to be called back instead (the speech hints)
CALLBACK_HINTS = "llamadme, llámenme, devolver la llamada, call me back, callback"


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
    if turn is not None and speech:
        confidence = _one(form, "Confidence")
        return _message(call, f"{call}:{turn}", caller, speech, "text",
                        {**base, "turn": int(turn), "confidence": confidence}, account)  # fmt: skip
    if turn is not None:
        return _message(call, f"{call}:{turn}:silent{silent}", caller, "", "event",
                        {**base, "turn": int(turn), "event": "silence",
                         "silent": int(silent)}, account)  # fmt: skip
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
    """The TwiML answer to one voice webhook (a call start, a turn, a silence)."""
    message = parsed.messages[0] if parsed.messages else None
    meta = dict(message.metadata) if message else {}
    event = meta.get("event")
    if message is None:
        return respond("<Response></Response>")
    language = spoken.language if spoken else language_of(account)
    voice = _voice(account, language)
    notice = "".join(_say(t, voice) for t in (spoken.notice if spoken else ()))
    turn = int(str(meta.get("turn", 0)))
    silent = 0
    if event == "silence":
        silent = int(str(meta.get("silent", 0))) + 1
        if silent > MAX_SILENCES:
            return respond(f"<Response>{_say(_GOODBYE[language], voice)}<Hangup/></Response>")
        texts: Sequence[str] = [_REPROMPT[language]]
        next_turn = turn  # nothing was said: the same turn again
    else:
        texts = spoken.texts if spoken else ()
        next_turn = turn + 1
    said = "".join(_say(t, voice) for t in texts)
    follow = then(spoken, hook_url, next_turn) if spoken is not None else ""
    if follow:
        return respond(f"<Response>{notice}{said}{follow}</Response>")
    action = f"{hook_url}?turn={next_turn}"
    gather = (
        f'<Gather input="speech" action={quoteattr(action)} method="POST" '
        f'language={quoteattr(voice)} speechTimeout="auto">{said}</Gather>'
    )
    # no speech at all: Twilio goes on to the Redirect, which comes back as a silent turn
    redirect = f'<Redirect method="POST">{escape(f"{action}&silent={silent}")}</Redirect>'
    return respond(f"<Response>{notice}{gather}{redirect}</Response>")


def spoken_twiml(spoken: Spoken | None, account: AccountConfig, *, hook_url: str, turn: int) -> str:
    """The words and what follows them, outside a conversation turn (a call event's answer)."""
    if spoken is None:
        return "<Response></Response>"
    voice = _voice(account, spoken.language)
    said = "".join(_say(t, voice) for t in (*spoken.notice, *spoken.texts))
    return f"<Response>{said}{then(spoken, hook_url, turn)}</Response>"


def then(spoken: Spoken, hook_url: str, turn: int) -> str:
    """What follows the words: a transfer, a queue, a voicemail, the end of the call."""
    if spoken.dial:
        return _dial(spoken, hook_url, turn)
    if spoken.enqueue:
        return _enqueue(spoken.enqueue, hook_url, turn)
    if spoken.voicemail:
        return record(hook_url, turn)
    if spoken.end_call:
        return "<Hangup/>"
    return ""


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


def _enqueue(queue: str, hook_url: str, turn: int) -> str:
    """Wait in a named queue; the wait URL says the place and offers a callback, and the
    action is told how the wait ended (``QueueResult``)."""
    wait = f"{hook_url}/queue-wait"
    after = f"{hook_url}?turn={turn}&queued=1"
    return (
        f'<Enqueue waitUrl={quoteattr(wait)} waitUrlMethod="POST" action={quoteattr(after)} '
        f'method="POST">{escape(queue[:64])}</Enqueue>'
    )


def record(hook_url: str, turn: int) -> str:
    """A voicemail: the recording's details come to the action, its text to the callback."""
    after = f"{hook_url}?turn={turn}&voicemail=1"
    return (
        f'<Record action={quoteattr(after)} method="POST" '
        f'maxLength="{VOICEMAIL_MAX_SECONDS}" playBeep="true" finishOnKey="#" '
        f'transcribe="true" transcribeCallback={quoteattr(f"{hook_url}/transcription")}/>'
        "<Hangup/>"
    )


def queue_wait_twiml(spoken: Spoken, account: AccountConfig, *, hook_url: str) -> HttpOutbound:
    """While the caller waits: the place and the expected wait, the callback offer (a key or
    a word), then the hold music. Twilio asks for this again when it has been played."""
    voice = _voice(account, spoken.language)
    said = "".join(_say(t, voice) for t in spoken.texts)
    wait = f"{hook_url}/queue-wait"
    music = str(account.settings.get("hold_music_url") or "")
    hold = f"<Play>{escape(music)}</Play>" if music else f'<Pause length="{HOLD_PAUSE_SECONDS}"/>'
    if not spoken.ask_callback:
        return respond(f"<Response>{said}{hold}</Response>")
    gather = (
        f'<Gather input="dtmf speech" numDigits="1" action={quoteattr(wait + "?choice=1")} '
        f'method="POST" language={quoteattr(voice)} speechTimeout="auto" '
        f"hints={quoteattr(CALLBACK_HINTS)}>{said}</Gather>"
    )
    return respond(f"<Response>{gather}{hold}</Response>")


def queue_choice_twiml(spoken: Spoken, account: AccountConfig, *, hook_url: str) -> HttpOutbound:
    """The caller's answer to the callback offer: leave the queue (Twilio then asks the
    Enqueue's action with ``QueueResult=leave``), or keep waiting."""
    if spoken.leave_queue:
        return respond("<Response><Leave/></Response>")
    voice = _voice(account, spoken.language)
    said = "".join(_say(t, voice) for t in spoken.texts)
    wait = escape(f"{hook_url}/queue-wait")
    return respond(f'<Response>{said}<Redirect method="POST">{wait}</Redirect></Response>')


def whisper_twiml(summary: str, language: str) -> HttpOutbound:
    """What the person who picks up hears before the caller is connected."""
    voice = _VOICES.get(language, "es-ES")
    return respond(f"<Response>{_say(summary, voice)}</Response>")


def _voice(account: AccountConfig, language: str) -> str:
    configured = str(account.settings.get("voice_language") or "")
    if configured and configured[:2].lower() == language:
        return configured
    return _VOICES.get(language, "es-ES")


def language_of(account: AccountConfig) -> str:
    configured = str(account.settings.get("voice_language") or "es-ES")
    return configured[:2].lower()


def _say(text: str, voice: str) -> str:
    return f"<Say language={quoteattr(voice)}>{escape(text)}</Say>"


def respond(body: str) -> HttpOutbound:
    return HttpOutbound(200, ('<?xml version="1.0" encoding="UTF-8"?>' + body).encode(), "text/xml")
