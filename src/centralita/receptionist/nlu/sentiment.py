"""How the caller feels, from -1 (furious) to 1 (delighted).

English goes to VADER (vaderSentiment). Spanish has no usable offline package (see STACK.md),
so it gets a VADER-style scorer over our own lexicon: word and phrase valences on VADER's -4..4
scale, negation ("no", "nunca", "ni", "sin"...) flipping the next three words, intensifiers
("muy", "súper", "-ísimo"), "pero" weighting what follows, exclamation marks and words in
capitals boosting, and the sum squashed with VADER's x / sqrt(x² + 15). Emoji count in both
languages (VADER ignores a lone "👍").
"""

from __future__ import annotations

import math
import re
from functools import cache

from centralita.core.text import fold as _fold
from centralita.receptionist.nlu.language import Language

# Valence, then the words and phrases (accent-folded, lower case) that carry it. Greetings that
# contain "buenos"/"buenas" are listed at 0 so they do not read as praise.
_ES_LEXICON_TEXT = """
0: buenos dias, buenas tardes, buenas noches, buenas, muy buenas, de nada, mejor dicho,
   a ver, o sea, vale, bueno pues, pues bueno, que tal, por favor
3.4: me encanta, me encantan, me ha encantado, de maravilla, de lujo, de diez, una pasada,
   fenomenal, maravilloso, maravillosa, maravillosos, excelente, excelentes, espectacular,
   inmejorable, buenisimo, buenisima, genial, geniales, fantastico, fantastica, estupendo,
   estupenda, estupendamente, extraordinario, magnifico, magnifica, increiblemente bien
2.8: encantado, encantada, encantadores, encantadora, encantador, feliz, felices, contento,
   contenta, contentos, contentisimo, mil gracias, muchisimas gracias, muchas gracias,
   os lo agradezco, se lo agradezco, te lo agradezco, agradecido, agradecida, enhorabuena,
   felicidades, perfecto, perfecta, perfectamente, maravilla, merece la pena, vale la pena,
   recomiendo, os recomiendo, recomendable, recomendables, la mejor, el mejor, los mejores,
   un encanto, un placer, adoro, alegria, exito, muy bien, amor
2.2: amable, amables, majo, maja, majos, simpatico, simpatica, simpaticos, agradable,
   agradables, satisfecho, satisfecha, satisfechos, gracias, guay, bonito, bonita, precioso,
   preciosa, alegre, profesionales, profesional, eficaz, eficiente, eficientes, atento,
   atenta, atentos, carinoso, carinosa, bravo, bienvenido, bienvenida, genio, me gusta,
   me gustan, me gusto, gustado, tranquila, tranquilo, aliviado, aliviada, encanta
1.5: bien, bueno, buena, buenos, buen, ayudado, ayudo, resuelto, resuelta, solucionado,
   solucionada, puntual, puntuales, limpio, limpia, comodo, comoda, util, utiles, facil,
   rapido, rapida, rapidos, claro y rapido, suerte, gusta, gusto, funciona, funcionan,
   funciono, correcto, chulo, chula, mejor, mejorado, mejora, bonito detalle
0.8: ayuda, vale mucho, interesante, tranquilidad, seguro, segura, increible
-0.8: tardan mucho, tarda mucho, tardais, lento, lenta, caro, carillo, raro, rara, regular,
   cansado, cansada, lio, demasiado tarde, muy tarde
-1.5: problema, problemas, error, errores, fallo, fallos, retraso, retrasos, molestia,
   molestias, queja, quejas, quejarme, quejar, reclamacion, reclamaciones, reclamar, mal,
   preocupado, preocupada, preocupacion, roto, rota, dolor, duele, me duele, dolorido,
   hinchado, hinchada, sangra, sangrando, triste, nervioso, nerviosa, lleno de dudas, pena,
   perdido, perdida, perdidos, olvidado, olvidada, nadie me, nadie, ni caso, nunca mas,
   sigo esperando, llevo esperando, estoy esperando, esperando desde, sin respuesta,
   no me contestan, no contestan, no contesta, no me llaman, no me llama,
   no me han llamado, no me ha llamado, no me responden, no responde, no me atienden,
   no me atiende, no me cogen, no lo cogen, no coge nadie, no hay manera, otra vez
-2.2: malo, mala, malos, malas, peor, peores, molesto, molesta, molestos, enfado, enfadado,
   enfadada, enfadados, enfadadisimo, disgustado, disgustada, descontento, descontenta,
   insatisfecho, insatisfecha, decepcionado, decepcionada, decepcion, decepcionante, borde,
   bordes, grosero, grosera, groseros, maleducado, maleducada, maleducados, desagradable,
   sucio, sucia, sucios, roñoso, carisimo, abusivo, abusivos, abuso, injusto, injusta,
   injusticia, ridiculo, ridicula, absurdo, absurda, cutre, inutil, inutiles, preocupante,
   miedo, susto, angustia, angustiado, angustiada, agobiado, agobiada, desesperado,
   desesperada, llorar, llorando, sufrir, sufriendo, fatal servicio, mala atencion,
   mal servicio, me dan largas, dar largas, dando largas, pasotismo, tomadura de pelo,
   me tomais el pelo, cachondeo, falta de respeto, falta de profesionalidad, mentira,
   mentiras, mienten, mintieron, irresponsable, irresponsables, denuncia, denunciar,
   denunciaros, denunciarles, inadecuado, harto, harta, hartos, hartas, cabreado, cabreada,
   indignado, indignada, mala resena, mal hecho, mal hecha, fracaso, odio, odiar, lento
   y caro
-3.2: pesimo, pesima, pesimos, horrible, horribles, terrible, terribles, fatal, desastre,
   un desastre, desastroso, desastrosa, nefasto, nefasta, lamentable, lamentables, penoso,
   penosa, de pena, verguenza, una verguenza, que verguenza, vergonzoso, vergonzosa, asco,
   da asco, que asco, asqueroso, asquerosa, indignante, inadmisible, inaceptable,
   intolerable, estafa, estafado, estafada, estafadores, timo, timadores, robo, ladrones,
   engano, enganado, enganada, enganados, incompetente, incompetentes, incompetencia,
   negligencia, mala praxis, chapuza, chapuzas, lo peor, el peor, la peor, cabreadisimo,
   cabreadisima, hartisimo, hartisima, jamas volvere, no pienso volver, no vuelvo,
   no volvere, mierda, idiota, idiotas, imbecil, imbeciles, gilipollas, joder
"""
_NEGATIONS_TEXT = "no nunca ni jamas tampoco nada nadie ningun ninguna ninguno sin apenas"
_NEGATIONS = frozenset(_NEGATIONS_TEXT.split())
_INTENSIFIERS_TEXT = """muy super tan bastante realmente totalmente absolutamente completamente
    increiblemente extremadamente sumamente demasiado mucho muchisimo re requete tremendamente
    verdaderamente francamente especialmente rematadamente"""
_INTENSIFIERS = frozenset(_INTENSIFIERS_TEXT.split())
_DAMPENERS_TEXT = "poco algo ligeramente medio casi"
_DAMPENERS = frozenset(_DAMPENERS_TEXT.split())
_CONTRAST = frozenset({"pero", "aunque", "embargo"})  # "sin embargo"

_EMOJI: dict[str, float] = {
    "😀": 2.5, "😃": 2.5, "😄": 2.5, "😁": 2.5, "😊": 2.5, "🙂": 1.5, "😉": 1.5, "😍": 3.0,
    "🥰": 3.0, "😘": 2.5, "🤗": 2.5, "😂": 1.5, "🤣": 1.5, "😎": 2.0, "👍": 2.0, "👏": 2.2,
    "🙌": 2.2, "🙏": 1.5, "❤": 3.0, "❤️": 3.0, "💕": 2.8, "💖": 2.8, "💯": 2.0, "✅": 1.0,
    "🎉": 2.5, "😇": 2.0, "☺": 2.0, "☺️": 2.0, "🤩": 3.0, "🥳": 2.5, "💪": 1.5,
    "😞": -2.2, "😔": -2.0, "😟": -2.0, "😕": -1.5, "🙁": -1.8, "☹": -2.0, "☹️": -2.0,
    "😢": -2.5, "😭": -3.0, "😩": -2.5, "😫": -2.5, "😤": -2.5, "😠": -3.0, "😡": -3.2,
    "🤬": -3.5, "👎": -2.5, "💩": -2.5, "🙄": -1.8, "😒": -2.0, "😣": -2.2, "😖": -2.2,
    "😰": -2.2, "😱": -2.5, "😨": -2.2, "🤢": -2.5, "🤮": -3.0, "💔": -2.8, "😬": -1.0,
    "😑": -0.8, "😐": -0.5,
}  # fmt: skip
_EMOJI_PATTERN = re.compile("|".join(sorted(map(re.escape, _EMOJI), key=len, reverse=True)))

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_MAX_PHRASE = 5
_NEGATION_SCOPE = 4  # words; Spanish clitics push the verb away ("nunca me han tratado bien")
_NEGATION_SCALAR = -0.74  # VADER's N_SCALAR
_INTENSIFIER_STEP = 0.293  # VADER's B_INCR
_CAPS_STEP = 0.733  # VADER's C_INCR
_EXCLAMATION_STEP = 0.292
_ALPHA = 15.0  # VADER's normalisation constant


@cache
def _es_lexicon() -> dict[tuple[str, ...], float]:
    lexicon: dict[tuple[str, ...], float] = {}
    for block in re.split(r"\n(?=-?\d)", _ES_LEXICON_TEXT.strip()):
        value, entries = block.split(":", 1)
        for entry in entries.split(","):
            words = tuple(_fold(entry).split())
            if words:
                lexicon[words] = float(value)
    return lexicon


def _squash(total: float) -> float:
    return max(-1.0, min(1.0, total / math.sqrt(total * total + _ALPHA)))


def _unsquash(score: float) -> float:
    score = max(-0.999, min(0.999, score))
    return score * math.sqrt(_ALPHA) / math.sqrt(1 - score * score)


def _emoji_total(text: str) -> float:
    return sum(_EMOJI[m] for m in _EMOJI_PATTERN.findall(text))


def _lookup(word: str) -> tuple[float, float] | None:
    """Valence of a word outside the lexicon that is a known word with "-ísimo" or "super"
    glued on ("buenísimo", "superbien"), with its boost factor."""
    lexicon = _es_lexicon()
    match = re.fullmatch(r"(\w+?)isim([oa])s?", word)
    if match:
        for base in (match.group(1) + match.group(2), match.group(1)):
            if (base,) in lexicon:
                return lexicon[(base,)], 1.5
    for prefix in ("super", "requete", "re"):
        if word.startswith(prefix) and (word[len(prefix) :],) in lexicon:
            return lexicon[(word[len(prefix) :],)], 1.3
    return None


def _spanish_items(words: list[str], originals: list[str]) -> list[tuple[int, float]]:
    """(position, valence) for each sentiment-bearing word or phrase, before context."""
    lexicon = _es_lexicon()
    items: list[tuple[int, float]] = []
    shouting = any(w.islower() for w in originals)  # caps only stand out among lower case
    i = 0
    while i < len(words):
        for size in range(min(_MAX_PHRASE, len(words) - i), 0, -1):
            phrase = tuple(words[i : i + size])
            if phrase in lexicon:
                value = lexicon[phrase]
                break
        else:
            size = 1
            found = _lookup(words[i])
            value = found[0] * found[1] if found else 0.0
        if value:
            if shouting and any(o.isupper() and len(o) > 1 for o in originals[i : i + size]):
                value += math.copysign(_CAPS_STEP, value)
            items.append((i, value))
        i += size
    return items


def _clause_starts(text: str) -> list[int]:
    """For each word, the index of the first word of its clause (punctuation ends a clause:
    in "no, está bien" the "no" does not negate "bien")."""
    starts: list[int] = []
    start = 0
    previous_end = 0
    for index, match in enumerate(_WORD.finditer(text)):
        if index and re.search(r"[,.;:!?¡¿\n]", text[previous_end : match.start()]):
            start = index
        starts.append(start)
        previous_end = match.end()
    return starts


def _in_context(words: list[str], position: int, value: float, clause_start: int) -> float:
    before = words[max(clause_start, position - _NEGATION_SCOPE) : position]
    for distance, word in enumerate(reversed(before)):
        if word in _INTENSIFIERS and distance < 2:
            value += math.copysign(_INTENSIFIER_STEP * (1 - 0.2 * distance), value)
        elif word in _DAMPENERS and distance == 0:
            # "poco amable" means unkind; "algo molesto" is a little annoyed
            value = -0.5 * value if value > 0 and word == "poco" else 0.5 * value
    if any(word in _NEGATIONS for word in before):
        value *= _NEGATION_SCALAR
    return value


def _spanish(text: str) -> float:
    originals = _WORD.findall(text)
    words = [_fold(w) for w in originals]
    items = _spanish_items(words, originals)
    starts = _clause_starts(text)
    contrast = next((i for i, w in enumerate(words) if w in _CONTRAST), None)
    total = 0.0
    for position, value in items:
        value = _in_context(words, position, value, starts[position])
        if contrast is not None:
            value *= 0.5 if position < contrast else 1.5
        total += value
    total += _emoji_total(text)
    if total:
        exclamations = min(text.count("!"), 4)
        total += math.copysign(exclamations * _EXCLAMATION_STEP, total)
    return _squash(total)


@cache
def _vader() -> object:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def _english(text: str) -> float:
    scores = _vader().polarity_scores(text)  # type: ignore[attr-defined]
    compound = float(scores["compound"])
    emoji = _emoji_total(text)
    if not emoji:
        return compound
    return _squash(_unsquash(compound) + emoji)


def sentiment(text: str, language: Language) -> float:
    """The caller's mood in ``text``, from -1 (very negative) to 1 (very positive); 0 when
    the text carries none."""
    if not text.strip():
        return 0.0
    score = _english(text) if language == "en" else _spanish(text)
    return round(max(-1.0, min(1.0, score)), 4)
