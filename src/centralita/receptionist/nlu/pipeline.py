"""The offline NLU engine: one caller turn in, one ``NluResult`` out, no network.

Order matters. Card numbers are redacted first, so nothing downstream (the classifier, the
result's ``text``, logs) ever sees them. Then, on at most ``MAX_ANALYSED_CHARS`` of the
redacted text: language, one sentence embedding shared by the intent classifier and the spam
scorer, the public intent (with a few keyword corrections where the classifier is weak),
entities, sentiment, urgency and the yes / no / "a person please" cues.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache, lru_cache

from centralita.core.text import fold_words as _fold
from centralita.receptionist.nlu.cues import affirm, deny, wants_human
from centralita.receptionist.nlu.dates import When, part_of_day_hint
from centralita.receptionist.nlu.emergency import (
    EMERGENCY_THRESHOLD,
    EmergencyModel,
)
from centralita.receptionist.nlu.emergency import default_model as default_emergency_model
from centralita.receptionist.nlu.entities import extract_entities, person_name, staff_mentions
from centralita.receptionist.nlu.intents import (
    EmbeddingIntentClassifier,
    IntentClassifier,
    IntentResult,
    Vectors,
    default_classifier,
    encode_sentences,
    load_examples,
)
from centralita.receptionist.nlu.language import Language, detect_language
from centralita.receptionist.nlu.redaction import redact_cards
from centralita.receptionist.nlu.result import (
    FINE_TO_INTENT,
    DirectoryEntry,
    Intent,
    NluContext,
    NluEntities,
    NluResult,
    ServiceEntry,
)
from centralita.receptionist.nlu.sentiment import sentiment
from centralita.receptionist.nlu.spam import SPAM_THRESHOLD, SpamScorer, default_scorer
from centralita.receptionist.nlu.urgency import defused, urgency

MAX_ANALYSED_CHARS = 4000
_WARM_UP: dict[Language, str] = {
    "es": "Hola, quería cambiar mi cita del martes a las cinco, mi móvil es 612 345 678",
    "en": "Hi, I'd like to book a cleaning tomorrow morning, thanks so much",
}
UNSURE_CONFIDENCE = 0.1  # for text with no words we know: "other", and say we are unsure

_LETTERS = re.compile(r"[^\W\d_]+", re.UNICODE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_VOWELS = frozenset("aeiouy")


def _any(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(rf"(?:{p})" for p in patterns))


# Where the embedding classifier is weak (it reads "change my Monday slot" as booking), a verb
# that only means cancel or reschedule settles it. Not when the caller reports that *we*
# cancelled or moved something: that is a complaint.
_CANCEL = _any(
    r"\b(?:cancelar|cancela|cancelo|cancele|cancelen|cancelad|cancelame|cancelarla|cancelarlo|"
    r"cancelala|cancelalo|cancelenme|cancelenla|cancelenlo|anular|anula|anulo|anule|anulen|"
    r"anulad|anulame|anularla|anularlo|anulenla|anulenlo|anuladla|desconvocar)\b",
    r"\b(?:cancel|cancelling|canceling)\b(?! policy| fee)|\bcall off\b",
    r"\bdar de baja (?:mi|la) (?:cita|consulta|reserva)\b",
    r"\bno (?:ire|vamos a ir|voy a ir) a (?:la|mi) (?:cita|consulta)\b",
)
_CHANGE_VERB = (
    r"(?:cambiar|cambiarla|cambiarlo|cambiarme|cambiamos|cambias|cambie|cambien|cambiad|mover|"
    r"moverla|moverlo|moverme|muevo|mueva|muevan|aplazar|aplazarla|posponer|posponerla|"
    r"retrasar|retrasarla|adelantar|adelantarla|reprogramar|reprogramarla|trasladar|"
    r"trasladarla|pasar|pasarla|pasarme|pasadme|pasame)"
)
_APPOINTMENT = (
    r"(?:cita|sita|consulta|hora|reunion|visita|revision|limpieza|fecha|dia|"
    r"appointment|appt|booking|consultation|meeting|visit|check ?up|cleaning|slot|time|date|day)"
)
_CHANGE = _any(
    rf"\b{_CHANGE_VERB}\b(?:\s+\w+){{0,4}}?\s+{_APPOINTMENT}\b",
    rf"\b{_APPOINTMENT}\b(?:\s+\w+){{0,4}}?\s+(?:a otro dia|a otra hora|para otro dia)\b",
    r"\b(?:reschedule|rescheduling|rebook|rearrange|postpone|reprogramar)\b",
    r"\b(?:moverla|moverlo|pasarla|pasarlo|cambiarla|cambiarlo|retrasarla|adelantarla|aplazarla|"
    r"posponerla|trasladarla|reprogramarla)\b|\bme la (?:pasas|pasais|cambias|cambiais|mueves|"
    r"moveis|puedes (?:cambiar|pasar|mover)|podeis (?:cambiar|pasar|mover))\b",
    rf"\b{_APPOINTMENT}\b(?:\s+\w+){{0,4}}?\s+(?:be|been|get|is|was) (?:moved|changed|"
    r"rescheduled|pushed back|brought forward)\b",
    rf"\b(?:move|moving|change|changing|switch|push|bring)\b(?:\s+\w+){{0,3}}?\s+{_APPOINTMENT}"
    r"\b(?:\s+\w+){0,2}?\s*(?:to|back|forward|from|for|instead)\b",
)
# Asking when an appointment is, or confirming it, is "confirm_appointment".
_CONFIRM = _any(
    r"\ba que hora (?:era|es|tengo) (?:mi|la)\b|\bpara que dia tengo\b|\bcuando (?:era|es|tengo) "
    r"mi (?:cita|consulta|revision)\b|\bconfirmar (?:mi|la) (?:cita|consulta|reserva)\b|"
    r"\bsigue en pie\b|\brecuerd(?:ame|eme|as|a) (?:cuando|a que hora)\b",
    r"\bwhat time (?:is|was) my\b|\bwhen (?:is|was) my (?:appointment|appt|consultation|visit)\b|"
    r"\bdo i (?:have|still have) an? (?:appointment|appt|booking)\b|\bremind me when\b|"
    r"\bstill on for\b|\bconfirm (?:my|the) (?:appointment|appt|booking|consultation)\b",
)
# Asking for a new appointment, when the classifier took it for a change.
_BOOK = _any(
    r"\b(?:pedir|coger|reservar|concertar|agendar|solicitar|darme|dame|deme|darle|"
    r"(?:me|nos) (?:da|das|dais|dan|puede dar|puedes dar|podeis dar|podria dar|pueden dar|"
    r"podrian dar))\s+(?:una\s+)?(?:cita|sita|hora|consulta|primera visita)\b",
    r"\b(?:book|make|get|schedule|set up|arrange)\s+(?:me\s+)?(?:in\s+)?(?:an?\s+)?"
    r"(?:appointment|appt|consultation|visit)\b|\bbook (?:me )?in\b",
    r"\b(?:necesito|necesitaria|necesitariamos|necesitamos|quiero|quisiera|queria|querria|"
    r"me gustaria|me gustaria pedir|pedir) (?:una )?"
    r"(?:cita|sita|revision|consulta|hora|limpieza|primera visita)\b",
    r"\b(?:id like|i would like|i want|i need|can i (?:get|have|book)|could i (?:get|have|book)|"
    r"can we book|could we book) (?:an? |the )?(?:appointment|appt|consultation|meeting|free "
    r"\w+ ?\w* call|call)\b|\bget in today\b|\bsee someone today\b",
)
_EXISTING = _any(
    r"\bmi (?:cita|consulta|reserva)\b|\bmy (?:appointment|appt|booking|consultation)\b"
)
# Plain questions about the business that the classifier sometimes files as "other".
_INFO = _any(
    r"\b(?:horario|abris|abren|abre|abierto|abiertos|cerrais|cierran|cierra|direccion|donde "
    r"(?:estais|estan|esta)|precio|precios|cuanto (?:cuesta|cobrais|cobran|vale|sale)|tarifas|"
    r"seguro|mutua|aceptais|aceptan|financiacion|haceis|hacen|lleva(?:is|n) (?:temas|casos))\b",
    r"\b(?:opening hours|open|close|closed|hours|address|where are you|how much|price|prices|cost|"
    r"fees|insurance|do you (?:do|offer|accept|take|handle|deal with))\b",
)
_DONE_TO_CALLER = _any(
    r"\bme (?:cancelaron|cancelasteis|anularon|anulasteis|cambiaron|cambiasteis|movieron)\b",
    r"\bme (?:han|habeis|habian) (?:cancelado|anulado|cambiado|movido)\b",
    r"\b(?:you|they) (?:cancelled|canceled|moved|changed)\b|\bwithout (?:telling|warning|notice)\b",
    r"\bsin avisar\b|\bpolitica de cancelacion\b|\bcancellation\b|\bsi cancelo\b|\bif i cancel\b",
)
_COMPLAINING = _any(
    r"\b(?:verguenza|queja|quejarme|reclamacion|inaceptable|indignante|intolerable|"
    r"falta de respeto|sin avisar|fatal|desastre)\b",
    r"\b(?:unacceptable|outrageous|ridiculous|disgrace|complain|complaint|without (?:telling|"
    r"warning|notice))\b",
)
# A message for someone else may mention a change ("tell the doctor I need to cancel").
_MESSAGE = _any(
    r"\b(?:recado|mensaje|digale|dile|diga|avisale|avisele|que me llame|que me devuelva)\b",
    r"\b(?:message|tell (?:him|her|them|the)|let (?:him|her|them) know|call me back|ring me)\b",
)
_OVERRIDABLE: frozenset[Intent] = frozenset({"appointment_book", "other", "info"})
# Asking to be called back by, or to speak to, someone in particular: a message for staff,
# whatever it is about ("que me llame la doctora, es por la factura"). "A solicitor" is not
# someone in particular: "I need to speak to a solicitor" is a booking.
_CALLBACK_PERSON = _any(
    r"\b(?:que|q|k) me (?:llame|devuelva la llamada|telefonee|escriba) (?:el|la|don|dona|mi|su|"
    r"vuestr[oa]|[a-z]+\b(?<!lo)(?<!la)(?<!alguien))",
    r"\b(?:necesito|quiero|quisiera|queria|querria|tengo que|puedo) hablar con (?:el|la|don|dona|"
    r"mi|su|vuestr[oa]|alguien|una persona|un humano)\b",
    r"\b(?:pasame|pasadme|paseme|ponme|pongame|me pasa|me pasas|me pone|me pones) con\b",
    r"\b(?:ask|get|have|tell) (?!me\b|us\b)(?:\w+ ){1,3}to (?:call|ring|phone|contact|email|text) "
    r"(?:me|us)\b",
    r"\b(?:can|could|would|will) (?!you\b|i\b|we\b|u\b|someone\b|somebody\b|anyone\b)(?:\w+ )"
    r"{1,2}(?:call|ring|phone) (?:me|us)\b",
    r"\b(?:speak|talk) (?:to|with) (?:mr|mrs|ms|miss|dr|the (?:doctor|dentist|solicitor|lawyer|"
    r"partner|person)|my (?:solicitor|lawyer|dentist|doctor))\b|\bput me through\b",
)
# Asking for a call back from anyone: a message for staff when nothing else is asked for.
_CALLBACK = _any(
    _CALLBACK_PERSON.pattern,
    r"\b(?:que|q|k) me (?:llamen|llameis|llamais|devuelvan)\b|\b(?:me|nos) (?:puede|pueden|"
    r"podeis|podria|podrian|puedes|podrias) (?:llamar|devolver la llamada|telefonear)\b",
    r"\b(?:can|could|would) (?:someone|somebody|anyone|you) (?:please )?(?:call|ring|phone) "
    r"(?:me|us)\b|\b(?:call|ring) me back\b|\b(?:speak|talk) (?:to|with) (?:someone|somebody|a "
    r"person|a human|a real person|whoever)\b",
)
# The caller's own account with the business: what they owe, were charged or need a receipt for.
_OWN_ACCOUNT = _any(
    r"\b(?:mi|la) (?:factura|recibo|saldo|deuda|cuota|mensualidad|justificante)\b|\ben la "
    r"factura\b|\bme (?:queda|quedan) por pagar\b|\blo que (?:me queda|debo)\b|\b(?:me|nos) "
    r"(?:habeis|han|has) cobrado\b|\bme (?:ha|han) llegado un cargo\b|\bpagar(?:la|lo)? a "
    r"plazos\b|\bfinanciar (?:el|mi|la)\b",
    r"\bmy (?:bill|invoice|receipt|balance|statement|account|payment|instalments?|direct debit)\b|"
    r"\bthe (?:final )?bill (?:is|was|says)\b|\bextra charges?\b|\b(?:the )?rest of my "
    r"(?:\w+ )?(?:balance|bill|fees?)\b|\breceipt for\b|\binvoice for\b",
)
# Questions about the practice rather than requests for a slot.
_INFO_QUESTION = _any(
    r"\b(?:tienen|teneis|hay) (?:ascensor|parking|aparcamiento|rampa|wifi|bano|sala de espera)\b|"
    r"\bque (?:tengo|hay) que (?:traer|llevar)\b|\bes (?:gratis|gratuita|gratuito)\b|\b(?:alguna|"
    r"hay) (?:oferta|promocion|descuento)\b",
    r"\bwhat (?:\w+ ){0,2}(?:do|should) i (?:need to )?bring\b|\bis (?:the|it|a) (?:\w+ ){0,3}"
    r"(?:free|included)\b|\b(?:any|some) (?:offers|discounts|deals)\b|\b(?:do|can) (?:i|you) "
    r"get a (?:note|letter|certificate)\b|\bis there (?:a )?(?:lift|parking|step free)\b",
)


@cache
def _vocabulary() -> frozenset[str]:
    words: set[str] = set()
    for by_language in load_examples().values():
        for utterances in by_language.values():
            for utterance in utterances:
                words.update(_fold(utterance).split())
    return frozenset(words)


def _wordlike(word: str) -> bool:
    """A plausible word in either language: it has a vowel, no run of four consonants and no
    letter three times in a row."""
    if not _VOWELS & set(word):
        return False
    if re.search(r"(.)\1\1", word):
        return False
    return not re.search(r"[^aeiouy\W\d_]{4,}", word)


def _unknown_words(folded: str) -> bool:
    """True when no word is one we know and most words do not look like words ("asdkjh qwe
    zzz"), or there are no words at all."""
    words = _LETTERS.findall(folded)
    if not words:
        return True
    known = _vocabulary()
    if any(w in known for w in words):
        return False
    return sum(not _wordlike(w) for w in words) * 2 >= len(words)


def resolve_intent(
    text: str, result: IntentResult, *, spam: bool, spam_score: float, wants_person: bool
) -> tuple[Intent, str, float]:
    """The public intent, the finer label and the confidence, from the classifier's result,
    the spam verdict and the keyword corrections. Pure; the benchmark can call it."""
    folded = _fold(text)
    ranking = dict(result.ranking)
    if spam:
        return "sales_spam", "sales_spam", max(spam_score, ranking.get("sales_spam", 0.0))
    detail, confidence = result.intent, result.confidence
    if detail == "sales_spam":
        # The spam scorer is the judge of spam. The classifier did see business talk, so its
        # next guess is kept even when weak.
        detail, confidence = next((k, p) for k, p in result.ranking if k != "sales_spam")
    public = FINE_TO_INTENT.get(detail, "other")
    done_to_caller = bool(_DONE_TO_CALLER.search(folded))
    if public == "appointment_change" and done_to_caller and _COMPLAINING.search(folded):
        return "complaint", "complaint", confidence
    overridable = public in _OVERRIDABLE or (
        public == "message_for_staff" and not _MESSAGE.search(folded)
    )
    if overridable and not done_to_caller:
        if _CANCEL.search(folded):
            return "appointment_change", "cancel_appointment", max(confidence, 0.6)
        if _CHANGE.search(folded) and public != "info":
            return "appointment_change", "change_appointment", max(confidence, 0.6)
        if _CONFIRM.search(folded):
            return "appointment_change", "confirm_appointment", max(confidence, 0.6)
    if (_CALLBACK.search(folded) and public in ("appointment_book", "info", "other")) or (
        public == "billing" and _CALLBACK_PERSON.search(folded)
    ):
        return "message_for_staff", "leave_message", max(confidence, 0.6)
    if (
        public == "message_for_staff"
        and _BOOK.search(folded)
        and not (_CALLBACK.search(folded) or _MESSAGE.search(folded))
    ):
        return "appointment_book", "book_appointment", confidence
    if public == "info" and _OWN_ACCOUNT.search(folded):
        return "billing", "billing", max(confidence, 0.6)
    if public == "appointment_book" and _INFO_QUESTION.search(folded) and not _BOOK.search(folded):
        label, probability = next(
            ((k, p) for k, p in result.ranking if k.startswith("information_")), ("", 0.0)
        )
        return "info", label or "information_services", max(probability, UNSURE_CONFIDENCE)
    if (
        detail in ("change_appointment", "confirm_appointment")
        and _BOOK.search(folded)
        and not (
            _CHANGE.search(folded)
            or _CANCEL.search(folded)
            or _CONFIRM.search(folded)
            or _EXISTING.search(folded)
        )
    ):
        return "appointment_book", "book_appointment", confidence
    if wants_person and public in ("other", "info"):
        return "message_for_staff", "leave_message", max(confidence, 0.6)
    if public == "other" and _INFO.search(folded) and not _unknown_words(folded):
        label, probability = next(
            ((k, p) for k, p in result.ranking if k.startswith("information_")), ("", 0.0)
        )
        return "info", label or "information_services", max(probability, UNSURE_CONFIDENCE)
    if _unknown_words(folded) and public == "other":
        return "other", "other", min(confidence, UNSURE_CONFIDENCE)
    return public, detail, confidence


def _role_words(role: str) -> list[tuple[str, ...]]:
    """Ways to say a role: each comma or "y"/"and" part ("higienista dental"), and its head
    word ("higienista"; the first word in Spanish, the last in English)."""
    parts = re.split(r",|\by\b|\band\b|&|/", _fold(role))
    found: list[tuple[str, ...]] = []
    for part in parts:
        words = tuple(part.split())
        if not words:
            continue
        found.append(words)
        for head in {words[0], words[-1]}:
            if len(head) >= 5:
                found.append((head,))
    return found


_ROLE_ARTICLES_TEXT = "el la al del los las the your su vuestra vuestro"  # "a solicitor" is anyone
_ROLE_ARTICLES = frozenset(_ROLE_ARTICLES_TEXT.split())


@lru_cache(maxsize=64)
def _role_index(directory: tuple[DirectoryEntry, ...]) -> dict[tuple[str, ...], str]:
    """Role phrases that name exactly one person in the directory."""
    owners: dict[tuple[str, ...], set[str]] = {}
    for entry in directory:
        if entry.role:
            for phrase in _role_words(entry.role):
                owners.setdefault(phrase, set()).add(entry.key)
    return {phrase: keys.pop() for phrase, keys in owners.items() if len(keys) == 1}


@lru_cache(maxsize=64)
def _alias_index(directory: tuple[DirectoryEntry, ...]) -> dict[str, tuple[str, ...]]:
    return {entry.key: (entry.name, *entry.aliases) for entry in directory}


def _by_role(folded: str, directory: tuple[DirectoryEntry, ...]) -> str | None:
    """The person whose role the caller names after an article ("la higienista")."""
    words = folded.split()
    best: tuple[int, int, str] | None = None
    for phrase, key in _role_index(directory).items():
        size = len(phrase)
        for i in range(1, len(words) - size + 1):
            if tuple(words[i : i + size]) == phrase and words[i - 1] in _ROLE_ARTICLES:
                candidate = (i, -size, key)
                if best is None or candidate < best:
                    best = candidate
                break
    return best[2] if best else None


def _staff(text: str, directory: tuple[DirectoryEntry, ...]) -> DirectoryEntry | None:
    if not directory:
        return None
    keys = staff_mentions(text, _alias_index(directory))
    key = keys[0] if keys else _by_role(_fold(text), directory)
    return next((e for e in directory if e.key == key), None)


_SERVICE_STOPWORDS_TEXT = """dental dentales general primera visita y de del la el con and or of
    the a for your treatment tratamiento consulta consultation initial"""
_SERVICE_STOPWORDS = frozenset(_SERVICE_STOPWORDS_TEXT.split())
_COMMON_WORDS_TEXT = "will home can may need"  # "Will" is a service name
_COMMON_WORDS = frozenset(_COMMON_WORDS_TEXT.split())
_ARTICLES_TEXT = "a my the un una mi el la"
_ARTICLES = frozenset(_ARTICLES_TEXT.split())


def _stem(word: str) -> str:
    return word[:-2] if word.endswith("es") and len(word) > 5 else word.rstrip("s")


@lru_cache(maxsize=64)
def _service_index(
    services: tuple[ServiceEntry, ...],
) -> tuple[list[tuple[tuple[str, ...], str]], dict[str, str]]:
    """Whole names (longest first), and single words that belong to one service only."""
    names: list[tuple[tuple[str, ...], str]] = []
    owners: dict[str, set[str]] = {}
    for service in services:
        for name in service.names:
            words = tuple(_stem(w) for w in _fold(name).split())
            if words:
                names.append((words, service.key))
            for word in words:
                if len(word) >= 5 and word not in _SERVICE_STOPWORDS:
                    owners.setdefault(word, set()).add(service.key)
    names.sort(key=lambda item: -len(item[0]))
    return names, {word: keys.pop() for word, keys in owners.items() if len(keys) == 1}


def _service(text: str, services: tuple[ServiceEntry, ...]) -> str | None:
    if not services:
        return None
    words = [_stem(w) for w in _fold(text).split()]
    names, distinctive = _service_index(services)
    for name, key in names:
        size = len(name)
        for i in range(len(words) - size + 1):
            if tuple(words[i : i + size]) != name:
                continue
            # "I will call" is not the service "Will": a common word needs an article
            if size == 1 and name[0] in _COMMON_WORDS and (i == 0 or words[i - 1] not in _ARTICLES):
                continue
            return key
    return next((distinctive[w] for w in words if w in distinctive), None)


def _entities(text: str, language: Language, context: NluContext) -> NluEntities:
    try:
        found = extract_entities(
            text,
            language=language,
            default_region=context.country,
            now=context.now,
            timezone=context.timezone,
            known_words=_vocabulary(),
        )
        phones, emails, name = found.phones, found.emails, found.person_name
        whens: Sequence[When] = found.whens
    except (RuntimeError, OverflowError, UnicodeError):  # Duckling on odd input; keep the rest
        phones, emails, whens = (), (), ()
        name = person_name(text, language=language, known_words=_vocabulary())
    when = whens[0] if whens else None
    # "Soy Marta Ruiz" is the caller, not Dr. Ruiz: their own name is no staff mention
    staff = _staff(text.replace(name, " ") if name else text, context.directory)
    return NluEntities(
        name=name,
        phone=phones[0] if phones else None,
        email=emails[0] if emails else None,
        datetime=when.start.isoformat() if when else None,
        staff=staff.name if staff else None,
        staff_key=staff.key if staff else None,
        service_key=_service(text, context.services),
        when_start=when.start if when else None,
        when_end=when.end if when else None,
        when_grain=when.grain if when else None,
        part_of_day=part_of_day_hint(text, language),
    )


class OfflineNlu:
    """The default ``NluEngine``: embeddings, rules and Duckling, all in-process."""

    def __init__(
        self,
        classifier: IntentClassifier | None = None,
        spam: SpamScorer | None = None,
        emergency: EmergencyModel | None = None,
    ) -> None:
        self._classifier = classifier
        self._spam = spam
        self._emergency = emergency

    @property
    def classifier(self) -> IntentClassifier:
        if self._classifier is None:
            self._classifier = default_classifier()
        return self._classifier

    @property
    def spam(self) -> SpamScorer:
        if self._spam is None:
            self._spam = default_scorer()
        return self._spam

    @property
    def emergency(self) -> EmergencyModel:
        if self._emergency is None:
            self._emergency = default_emergency_model()
        return self._emergency

    def _classify(self, text: str, language: Language) -> tuple[IntentResult, Vectors | None]:
        """The intent, and the embedding when the classifier uses the shared encoder (so the
        spam scorer does not encode the text again)."""
        classifier = self.classifier
        if isinstance(classifier, EmbeddingIntentClassifier) and (
            classifier.encoder is encode_sentences
        ):
            vectors = encode_sentences([text])
            return classifier.classify_vectors(vectors, [text])[0], vectors[0]
        return classifier.classify(text, language=language), None

    def warm_up(self) -> None:
        """Load every model now (encoder, classifier, spam and emergency models, language
        model, Duckling, VADER: a few seconds) instead of on the first caller's turn."""
        _ = self.emergency
        now = datetime.now(UTC)
        for language, text in _WARM_UP.items():
            self.analyse(text, NluContext(now=now, default_language=language))

    def analyse(self, text: str, context: NluContext) -> NluResult:
        redacted, redactions = redact_cards(text)
        # Control characters go: Duckling panics on NUL (a BaseException, past any except).
        sample = _CONTROL.sub(" ", redacted[:MAX_ANALYSED_CHARS])
        language = (
            context.language
            or detect_language(
                sample, history=context.history_languages, default=context.default_language
            ).language
        )
        mood = sentiment(sample, language)
        person = wants_human(sample, language)
        yes, no = affirm(sample, language), deny(sample, language)
        if not _LETTERS.search(sample):  # empty, emoji, digits or punctuation only
            return NluResult(
                text=redacted,
                language=language,
                intent="other",
                detail="other",
                confidence=0.0,
                urgency="low",
                spam=False,
                spam_score=0.0,
                sentiment=mood,
                entities=_entities(sample, language, context) if sample.strip() else NluEntities(),
                affirm=yes,
                deny=no,
                redactions=redactions,
            )
        result, vector = self._classify(sample, language)
        spam_score = self.spam.score(
            sample,
            language,
            intent_ranking=result.ranking,
            feedback=context.spam_feedback,
            vector=vector,
        )
        is_spam = spam_score >= SPAM_THRESHOLD
        intent, detail, confidence = resolve_intent(
            sample, result, spam=is_spam, spam_score=spam_score, wants_person=person
        )
        level = urgency(sample, language, intent=intent, sentiment=mood)
        if level != "emergency" and intent != "sales_spam" and not defused(sample):
            # the rules missed it; the learned model may not have (emergency.py)
            chance = self.emergency.probability(sample, vector=vector)
            if chance >= EMERGENCY_THRESHOLD:
                level = "emergency"
        return NluResult(
            text=redacted,
            language=language,
            intent=intent,
            detail=detail,
            confidence=float(confidence),
            urgency=level,
            spam=is_spam,
            spam_score=spam_score,
            sentiment=mood,
            entities=_entities(sample, language, context),
            wants_human=person,
            affirm=yes,
            deny=no,
            redactions=redactions,
        )


@cache
def default_engine() -> OfflineNlu:
    """One shared engine per process."""
    return OfflineNlu()
