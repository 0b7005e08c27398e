"""Short signals in a caller's turn: asking for a person, saying yes, saying no.

All three work on accent-folded lower case without punctuation, because speech-to-text gives
"quiero hablar con una persona" and WhatsApp gives "Q hablar con alguien!!". Both languages are
always checked: a Spanish caller says "ok" and an English one "vale" often enough, and a wrong
language guess on three words must not hide the cue. Names of people ("pásame con la doctora
García") are not a cue for a human: the staff entity carries those.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from typing import Literal

from centralita.core.text import fold_words as _fold
from centralita.receptionist.nlu.language import Language

# Words that name "a human" and the misspellings callers and speech-to-text produce; each
# token within one edit of one of these is read as it.
_TARGETS = """persona personas humano humana humanos operador operadora operadoras agente
    agentes recepcionista recepcion telefonista person human operator agent representative
    receptionist reception somebody someone"""
_TARGET_WORDS = frozenset(_TARGETS.split())
_TYPOS = {"umano": "humano", "presona": "persona", "rep": "representative", "ppl": "people"}

_ES_VERB = (
    r"(?:hablar|hable|hablo|habla|hablamos|charlar|pasar|pasarme|pasame|paseme|pasa|pasas|"
    r"pasais|pasan|pase|pasaria|pasarias|poner|ponerme|ponme|pongame|pones|pone|comunicar|"
    r"comunicarme|comunicame|comuniqueme|conectar|conectarme|conectame|conecteme|transferir|"
    r"transferirme|transfiereme|transfierame|transfiera|atienda|atiende|atender)"
)
_ES_TARGET = (
    r"(?:persona|personas|humano|humana|ser humano|alguien|operador|operadora|agente|"
    r"recepcion|recepcionista|telefonista|encargado|encargada|responsable|gente|"
    r"un trabajador|una trabajadora|empleado|empleada|alguno de ustedes|alguno de vosotros)"
)
_EN_VERB = r"(?:speak|talk|chat|speaking|talking|spoke)"
_EN_TARGET = (
    r"(?:human|humans|human being|person|people|someone|somebody|anyone|anybody|agent|"
    r"operator|representative|receptionist|reception|member of staff|staff member|staff|"
    r"manager|customer service|live agent|live person|real person|actual person)"
)
_WANTS_HUMAN = re.compile(
    "|".join(
        (
            rf"\b{_ES_VERB}\b(?:\s+\w+){{0,3}}?\s+con\s+(?:\w+\s+){{0,2}}?{_ES_TARGET}\b",
            rf"\bque\s+me\s+(?:atienda|llame|conteste)\s+(?:\w+\s+){{0,1}}?{_ES_TARGET}\b",
            r"\b(?:persona|humano|alguien)\s+(?:real|de verdad|de carne y hueso|humana|fisica)\b",
            r"\bcon\s+(?:un|una)\s+(?:humano|humana|ser humano)\b",
            r"\bno\s+(?:quiero|me gusta|deseo)\s+hablar\s+con\s+(?:una|un|el|la)?\s*"
            r"(?:maquina|robot|bot|contestador|ordenador|asistente virtual|ia)\b",
            rf"\b{_EN_VERB}\s+(?:to|with)\s+(?:\w+\s+){{0,2}}?{_EN_TARGET}\b",
            rf"\b(?:put|transfer|connect|pass|get|send|forward)\s+(?:me\s+)?(?:through\s+|over\s+)?"
            rf"(?:to|with)\s+(?:\w+\s+){{0,2}}?{_EN_TARGET}\b",
            r"\b(?:get|give|want|need)\s+(?:me\s+)?(?:a|an)\s+(?:real\s+|actual\s+|live\s+)?"
            r"(?:human|person|operator|agent|representative)\b",
            r"\b(?:real|actual|live)\s+(?:person|human|agent|people)\b",
            r"\bhuman being\b",
            r"\bnot\s+(?:a|an|the)\s+(?:robot|bot|machine|computer|ai)\b",
            r"\bdon'?t\s+want\s+(?:to\s+talk\s+to\s+)?(?:a|an|the)\s+(?:robot|bot|machine)\b",
        )
    )
)
# A whole turn that is just the target, maybe with "please" or "now": "operadora",
# "agent please", "REPRESENTATIVE!!!", "un humano por favor".
_POLITE = r"(?:\s+(?:por favor|porfa|porfavor|xfa|plis|ya|ahora|please|pls|plz|now|asap))*"
_BARE_TARGET = re.compile(
    r"^(?:(?:quiero|necesito|quisiera|i want|i need|can i have)\s+)?(?:(?:un|una|a|an|the)\s+)?"
    r"(?:humano|humana|persona|operador|operadora|agente|recepcion|recepcionista|human|"
    r"person|operator|agent|representative|receptionist|reception|someone|alguien)" + _POLITE + "$"
)

_AFFIRM_PHRASES = """si|sii|siii|sip|sep|si si|claro|claro que si|por supuesto|vale|vale vale|
    ok|okay|okey|oki|okis|ok vale|vale ok|perfecto|perfecta|de acuerdo|dacuerdo|genial|
    estupendo|muy bien|bien|exacto|exactamente|correcto|eso es|eso|efectivamente|afirmativo|
    venga|dale|va|adelante|hecho|confirmo|confirmado|confirmada|me vale|me sirve|me viene bien|
    me va bien|me parece bien|me cuadra|me encaja|me viene genial|me va genial|me parece perfecto|
    esa hora me va bien|ese me vale|esa me vale|ese|esa|ese mismo|esa misma|la primera|
    el primero|la segunda|el segundo|no hay problema|sin problema|ningun problema|
    yes|yeah|yea|yep|yup|ya|sure|of course|certainly|absolutely|definitely|correct|right|
    thats right|that is right|exactly|that works|works for me|that works for me|sounds good|
    sounds great|fine|thats fine|that is fine|great|perfect|alright|all right|go ahead|
    please do|yes please|ok thanks|no problem|confirmed|i confirm|affirmative|good|lovely|
    brilliant|cool|deal|done|that one|the first one|the second one"""
_DENY_PHRASES = """no|nop|nope|nah|no no|no gracias|no muchas gracias|para nada|en absoluto|
    claro que no|por supuesto que no|de ninguna manera|ni hablar|mejor no|tampoco|
    ninguna|ninguno|ningun|ninguna de las dos|ninguno de los dos|ninguna de ellas|
    no me viene bien|no me va bien|no me vale|no me sirve|no me cuadra|no puedo|no podre|
    no me encaja|no me parece bien|esa no|ese no|no es correcto|incorrecto|no es eso|
    negativo|none|none of them|none of those|neither|neither of them|no thanks|no thank you|
    not really|no way|nope thanks|negative|that doesnt work|doesnt work|doesnt work for me|
    that does not work|that wont work|i cant|i cannot|cant make it|i cant make it|
    not that one|thats wrong|wrong|incorrect|not at all|absolutely not|of course not"""
_UNSURE_PHRASES = """no se|no lo se|no sabria|no estoy seguro|no estoy segura|ni idea|
    no entiendo|no te entiendo|no le entiendo|no lo entiendo|i dont know|dont know|not sure|
    im not sure|no idea|i dont understand|dont understand|no lo tengo claro|depende|maybe|
    quizas|quiza|a lo mejor|tal vez|perhaps|puede ser|no recuerdo|i dont remember"""
_FILLERS_TEXT = """pues eh ah oh ehm em mm mmm hmm um uh well so bueno mira oye vale ok gracias
    por favor porfa thanks thank you please the"""
_FILLERS = frozenset(_FILLERS_TEXT.split())
_NEGATION = re.compile(r"\b(?:no|not|nunca|never|dont|doesnt|cant|wont|isnt|ni)\b")
_SHORT = 8  # words: longer turns carry more than a yes or a no


def _edit_distance_at_most_one(a: str, b: str) -> bool:
    """Levenshtein distance ≤ 1, counting a swap of neighbours as one edit."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diffs = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diffs) == 1:
            return True
        i, j = diffs[0], diffs[-1]
        return len(diffs) == 2 and j == i + 1 and a[i] == b[j] and a[j] == b[i]
    shorter, longer = (a, b) if len(a) < len(b) else (b, a)
    i = next((k for k in range(len(shorter)) if shorter[k] != longer[k]), len(shorter))
    return shorter[i:] == longer[i + 1 :]


@cache
def _canonical(token: str) -> str:
    if token in _TARGET_WORDS:
        return token
    if token in _TYPOS:
        return _TYPOS[token]
    if len(token) >= 6:
        for target in _TARGET_WORDS:
            if _edit_distance_at_most_one(token, target):
                return target
    return token


def _normalised(text: str) -> str:
    return " ".join(_canonical(t) for t in _fold(text).split())


def wants_human(text: str, language: Language) -> bool:
    """True when the caller asks for a person rather than the assistant ("quiero hablar con
    una persona", "agent please", "pásame con recepción")."""
    folded = _normalised(text[:2000])
    return bool(_WANTS_HUMAN.search(folded) or _BARE_TARGET.match(folded))


def _phrases(block: str) -> frozenset[str]:
    return frozenset(" ".join(p.split()) for p in block.split("|"))


_AFFIRMS = _phrases(_AFFIRM_PHRASES)
_DENIES = _phrases(_DENY_PHRASES)
_LONG_DENIES = tuple(p for p in _DENIES if " " in p)
_UNSURE = _phrases(_UNSURE_PHRASES)


def _clause_words(text: str) -> list[list[str]]:
    """The turn cut at punctuation, each clause folded, fillers at either end dropped."""
    clauses = []
    for part in re.split(r"[,.;:!?¡¿\n]+|\s+-\s+", text):
        words = _fold(part).split()
        while len(words) > 1 and words[0] in _FILLERS and words[0] not in _AFFIRMS:
            words = words[1:]
        while len(words) > 1 and words[-1] in _FILLERS:
            words = words[:-1]
        if words and not (len(words) == 1 and words[0] in _FILLERS and words[0] not in _AFFIRMS):
            clauses.append(words)
    return clauses


def _leading(words: list[str], phrases: frozenset[str]) -> int:
    """How many leading words form a phrase from ``phrases`` (the longest), or 0."""
    for size in range(min(len(words), 6), 0, -1):
        if " ".join(words[:size]) in phrases:
            return size
    return 0


@lru_cache(maxsize=256)  # affirm, deny and urgency all ask about the same turn
def _answer(text: str) -> Literal["affirm", "deny"] | None:
    """Whether a short turn says yes or no. The first clause decides ("sí, el martes",
    "no, mejor otro día"); a multi-word refusal anywhere wins ("vale pero no me viene bien");
    unsure answers ("no sé", "not sure") are neither."""
    sample = text[:500]
    words = _fold(sample).split()
    if not words:
        if "👍" in sample or "✅" in sample:
            return "affirm"
        return "deny" if "👎" in sample else None
    if len(words) > _SHORT * 2:
        return None
    joined = f" {' '.join(words)} "
    if any(f" {p} " in joined for p in _UNSURE):
        return None
    if len(words) <= _SHORT and any(f" {p} " in joined for p in _LONG_DENIES):
        return "deny"
    clauses = _clause_words(sample)
    if not clauses:
        return None
    first = clauses[0]
    deny_size = _leading(first, _DENIES)
    affirm_size = _leading(first, _AFFIRMS)
    if not deny_size and not affirm_size:
        return None
    # speech has no commas: a known answer must fill the clause, or lead a short turn
    fills = max(deny_size, affirm_size) == len(first)
    if not fills and len(words) > _SHORT:
        return None
    if affirm_size > deny_size:
        rest = " ".join(first[affirm_size:])
        return None if _NEGATION.search(rest) else "affirm"
    return "deny"


def affirm(text: str, language: Language) -> bool:
    """True when the turn says yes ("sí", "vale", "de acuerdo", "that works", "sure")."""
    return _answer(text) == "affirm"


def deny(text: str, language: Language) -> bool:
    """True when the turn says no or "none of those" ("no", "ninguna", "no me viene bien",
    "nope"). "No sé" and "no hay problema" are not refusals."""
    return _answer(text) == "deny"
