"""What happens *to* a Twilio call, as provider-neutral ``CallEvent``s, and their TwiML.

On the account's hook URL (``/hooks/{account}``):

- **status callbacks** (the number's "Call status changes" webhook, or ``StatusCallbackEvent``
  for calls placed through the API): ``CallStatus``, ``CallDuration``, ``Timestamp`` (RFC 2822;
  ISO 8601 from Telnyx), ``SequenceNumber``. The final one (completed, busy, no-answer,
  failed, canceled) is stored once per call (``{CallSid}:end``); the others only move the
  interaction's timestamps on.
- **a transfer's result** (``?turn=N&dialed=1``, the ``<Dial>`` action): ``DialCallStatus``,
  ``DialCallDuration``.
- **a queue's result** (``?turn=N&queued=1``, the ``<Enqueue>`` action): ``QueueResult``
  (bridged, bridging-in-progress, queue-full, system-error, error, hangup, redirected, leave),
  ``QueueTime``, ``QueueSid``.
- **a voicemail** (``?turn=N&voicemail=1``, the ``<Record>`` action): ``RecordingUrl``,
  ``RecordingSid``, ``RecordingDuration``, ``Digits``.

On their own routes: ``/hooks/{account}/queue-wait`` (the ``<Enqueue>`` wait URL: ``QueuePosition``,
``QueueTime``, ``AvgQueueTime``, ``CurrentQueueSize``, ``MaxQueueSize``, ``QueueSid``; with
``?choice=1`` the caller's answer to the callback offer, ``Digits`` or ``SpeechResult``) and
``/hooks/{account}/transcription`` (``TranscriptionSid``, ``TranscriptionText``,
``TranscriptionStatus``, ``RecordingSid``, ``RecordingUrl``), and
``/hooks/{account}/connect?conversation=<id>&agent=<id>`` (where a call waiting in the queue is
redirected, through the REST API, once the ACD assigned it to an agent: the answer dials the
agent, whose transfer result comes back as ``?turn=0&dialed=1``).

Anything else on the hook URL (a call starting, a turn, a silence) is a turn: ``voice.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from centralita.channels.base import (
    AccountConfig,
    CallEvent,
    HttpOutbound,
    MalformedRequest,
    Spoken,
)
from centralita.channels.twilio import voice
from centralita.core.ids import looks_like_id

FINAL = voice.ENDED
KNOWN_STATUSES = voice.ENDED | voice.LIVE
_QUEUE_RESULTS = {
    "bridged": "answered",
    "bridging-in-progress": "answered",
    "hangup": "abandoned",
    "leave": "callback",
    "redirected": "redirected",
    "queue-full": "failed",
    "system-error": "failed",
    "error": "failed",
}
_DIAL_RESULTS = {
    "completed": "answered",
    "answered": "answered",
    "busy": "failed",
    "no-answer": "failed",
    "failed": "failed",
    "canceled": "failed",
}
_TRANSCRIPTIONS = frozenset({"completed", "failed"})
ROUTES = frozenset({"", "queue-wait", "transcription", "connect"})


def _one(form: dict[str, list[str]], name: str) -> str | None:
    values = form.get(name)
    return values[0] if values else None


def _seconds(form: dict[str, list[str]], name: str) -> int | None:
    raw = (_one(form, name) or "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError as exc:
        raise MalformedRequest(f"{name}: not a whole number") from exc
    if value < -1 or value > 10**7:
        raise MalformedRequest(f"{name}: out of range")
    return value if value >= 0 else None  # Twilio says -1 for "unknown"


def _timestamp(form: dict[str, list[str]]) -> datetime | None:
    raw = (_one(form, "Timestamp") or "").strip()
    if not raw:
        return None
    try:
        return parsedate_to_datetime(raw)  # Twilio and SignalWire
    except (TypeError, ValueError):
        pass
    try:
        when = datetime.fromisoformat(raw.replace("Z", "+00:00"))  # Telnyx TeXML: ISO 8601
    except ValueError as exc:
        raise MalformedRequest("Timestamp: not an RFC 2822 or ISO 8601 date") from exc
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _turn(query: dict[str, str]) -> int:
    turn = query.get("turn", "0")
    if not turn.isdigit() or int(turn) > 500:
        raise MalformedRequest("turn: a number from 0 to 500")
    return int(turn)


def parse_call_event(
    form: dict[str, list[str]], query: dict[str, str], route: str
) -> CallEvent | None:
    """The call event in one request, or ``None`` when it is a turn (``voice.parse_voice``)."""
    if route not in ROUTES:
        raise MalformedRequest(f"unknown voice route {route!r}")
    call = _one(form, "CallSid")
    if route == "" and not _is_call_event(form, query):
        return None
    if not call or len(call) > 64:
        raise MalformedRequest("CallSid: required, at most 64 characters")
    caller = _one(form, "From")
    if route == "queue-wait":
        return _queue_wait(call, caller, form, query)
    if route == "transcription":
        return _transcription(call, caller, form)
    if route == "connect":
        return _connect(call, caller, form, query)
    if query.get("queued") == "1":
        return _queue_result(call, caller, form, _turn(query))
    if query.get("dialed") == "1":
        return _dialed(call, caller, form, _turn(query))
    if query.get("voicemail") == "1":
        return _recording(call, caller, form, _turn(query))
    return _status(call, caller, form)


def _is_call_event(form: dict[str, list[str]], query: dict[str, str]) -> bool:
    if any(query.get(flag) == "1" for flag in ("queued", "dialed", "voicemail")):
        return True
    if "turn" in query:
        return False
    if _one(form, "StatusCallbackEvent") or _one(form, "CallbackSource"):
        return True
    return (_one(form, "CallStatus") or "") in FINAL


def _status(call: str, caller: str | None, form: dict[str, list[str]]) -> CallEvent:
    status = _one(form, "CallStatus") or ""
    if status not in KNOWN_STATUSES:
        raise MalformedRequest(f"CallStatus: unknown value {status!r}")
    sequence = _one(form, "SequenceNumber")
    if sequence is not None and not sequence.isdigit():
        raise MalformedRequest("SequenceNumber: not a whole number")
    duration = _seconds(form, "CallDuration")
    return CallEvent(
        call_id=call,
        kind="status",
        # the final status is stored once per call; the others only move timestamps on
        event_id=f"{call}:end" if status in FINAL else None,
        caller=caller,
        outcome=status,
        at=_timestamp(form),
        seconds=duration,
        metadata={
            "call_status": status,
            "duration": str(duration) if duration is not None else None,
            "sequence": sequence,
            "callback_event": _one(form, "StatusCallbackEvent"),
        },
    )


def _queue_result(
    call: str, caller: str | None, form: dict[str, list[str]], turn: int
) -> CallEvent:
    result = _one(form, "QueueResult") or ""
    outcome = _QUEUE_RESULTS.get(result)
    if outcome is None:
        raise MalformedRequest(f"QueueResult: unknown value {result!r}")
    return CallEvent(
        call_id=call,
        kind="queue_result",
        event_id=f"{call}:queued:{turn}",
        caller=caller,
        outcome=outcome,
        seconds=_seconds(form, "QueueTime"),
        turn=turn,
        metadata={"queue_result": result, "queue_sid": _one(form, "QueueSid")},
    )


def _dialed(call: str, caller: str | None, form: dict[str, list[str]], turn: int) -> CallEvent:
    status = _one(form, "DialCallStatus") or ""
    outcome = _DIAL_RESULTS.get(status)
    if outcome is None:
        raise MalformedRequest(f"DialCallStatus: unknown value {status!r}")
    return CallEvent(
        call_id=call,
        kind="dialed",
        event_id=f"{call}:dialed:{turn}",
        caller=caller,
        outcome=outcome,
        seconds=_seconds(form, "DialCallDuration"),
        turn=turn,
        metadata={"dial_status": status, "dial_call_sid": _one(form, "DialCallSid")},
    )


def _recording(call: str, caller: str | None, form: dict[str, list[str]], turn: int) -> CallEvent:
    url = (_one(form, "RecordingUrl") or "").strip()
    if url and not url.startswith(("https://", "http://")):
        raise MalformedRequest("RecordingUrl: not an http(s) URL")
    return CallEvent(
        call_id=call,
        kind="recording",
        event_id=f"{call}:voicemail:{turn}",
        caller=caller,
        outcome="recorded" if url else "empty",
        seconds=_seconds(form, "RecordingDuration"),
        turn=turn,
        metadata={
            "recording_url": url or None,
            "recording_sid": _one(form, "RecordingSid"),
            "digits": _one(form, "Digits"),
        },
    )


def _transcription(call: str, caller: str | None, form: dict[str, list[str]]) -> CallEvent:
    status = _one(form, "TranscriptionStatus") or ""
    if status not in _TRANSCRIPTIONS:
        raise MalformedRequest(f"TranscriptionStatus: unknown value {status!r}")
    recording = (_one(form, "RecordingSid") or "").strip()
    if not recording or len(recording) > 64:
        raise MalformedRequest("RecordingSid: required, at most 64 characters")
    url = (_one(form, "RecordingUrl") or "").strip()
    if url and not url.startswith(("https://", "http://")):
        raise MalformedRequest("RecordingUrl: not an http(s) URL")
    return CallEvent(
        call_id=call,
        kind="transcription",
        event_id=f"{call}:transcription:{recording}",
        caller=caller,
        outcome=status,
        text=(_one(form, "TranscriptionText") or "").strip() if status == "completed" else "",
        metadata={
            "recording_sid": recording,
            "recording_url": url or None,
            "transcription_sid": _one(form, "TranscriptionSid"),
        },
    )


def _queue_wait(
    call: str, caller: str | None, form: dict[str, list[str]], query: dict[str, str]
) -> CallEvent:
    choice = query.get("choice") == "1"
    return CallEvent(
        call_id=call,
        kind="queue_wait",
        event_id=None,
        caller=caller,
        outcome="choice" if choice else "waiting",
        seconds=_seconds(form, "QueueTime"),
        text=(_one(form, "SpeechResult") or "").strip() if choice else "",
        metadata={
            "position": _seconds(form, "QueuePosition"),
            "average_wait": _seconds(form, "AvgQueueTime"),
            "queue_size": _seconds(form, "CurrentQueueSize"),
            "queue_sid": _one(form, "QueueSid"),
            "digits": (_one(form, "Digits") or "").strip() if choice else None,
        },
    )


def _id(query: dict[str, str], name: str) -> str:
    value = query.get(name, "")
    if not looks_like_id(value):
        raise MalformedRequest(f"{name}: required, an id of at most 40 letters, digits, _ or -")
    return value


def _connect(
    call: str, caller: str | None, form: dict[str, list[str]], query: dict[str, str]
) -> CallEvent:
    """The call was redirected here to be connected to the agent it was assigned to. Stores
    nothing: a repeated request gets the same ``<Dial>``."""
    return CallEvent(
        call_id=call,
        kind="connect",
        event_id=None,
        caller=caller,
        outcome="connect",
        metadata={
            "conversation_id": _id(query, "conversation"),
            "agent_id": _id(query, "agent"),
            "call_status": _one(form, "CallStatus"),
            "queue_sid": _one(form, "QueueSid"),
        },
    )


def call_twiml(
    event: CallEvent, account: AccountConfig, spoken: Spoken | None, *, hook_url: str
) -> HttpOutbound:
    """The answer to a call event: what the receptionist decided, as TwiML."""
    if event.kind == "queue_wait" and spoken is not None:
        if event.outcome == "choice":
            return voice.queue_choice_twiml(spoken, account, hook_url=hook_url)
        return voice.queue_wait_twiml(spoken, account, hook_url=hook_url)
    if event.kind in ("status", "transcription"):
        return voice.respond("<Response></Response>")
    return voice.respond(voice.spoken_twiml(spoken, account, hook_url=hook_url, turn=event.turn))
