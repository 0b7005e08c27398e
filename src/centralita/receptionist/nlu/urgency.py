"""How soon someone must act on a caller's turn: low, normal, high or emergency.

Rules, not a model: a missed emergency (bleeding, a swollen face, an arrest, violence) is the
one mistake that must not happen, so the emergency phrases are generous, and each is matched
on accent-folded lower case without punctuation, with common speech-to-text and typing slips
("me sangra musho", "cant breathe"). Both languages' phrases are always checked; a short turn
can be misread as the other language. Precision comes from a few exceptions: asking whether
the clinic treats emergencies is a question, not an emergency; bleeding gums when brushing and
an accident "two years ago" for a claim are not emergencies either (they are high).
"""

from __future__ import annotations

import re

from centralita.core.text import fold_words
from centralita.receptionist.nlu.cues import affirm, deny
from centralita.receptionist.nlu.language import Language
from centralita.receptionist.nlu.result import Urgency


def _any(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(rf"(?:{p})" for p in patterns))


_EMERGENCY = _any(
    # Spanish: medical and dental
    r"\b(?:urgencias?|emergencias?|urjencia|urgensia)\b",
    r"\bsangr(?:a|an|o|e|ando|ado|ada|ar|ante)\b|\bhemorragia\b|\bno para de sangrar\b",
    r"\bno puedo respirar\b|\bme cuesta (?:mucho )?respirar\b|\bme ahogo\b|\basfixi",
    r"\bno (?:puede|podia|consigo|consigue) respirar\b|\bdificultad (?:para|al) respirar\b",
    r"\b(?:cara|mejilla|boca|mandibula|labio|labios|cuello|garganta|lengua)\s+"
    r"(?:muy\s+|toda\s+|super\s+)?(?:hinchad[ao]s?|inflamad[ao]s?|deformad[ao])\b",
    r"\bse me (?:ha )?hinchado (?:la|el|toda la|media) (?:cara|mejilla|boca|mandibula|cuello)\b",
    r"\bhinchazon (?:en|de) la (?:cara|mejilla|mandibula|boca|cuello)\b|\bflemon\b|\babsceso\b",
    r"\baccidente\b|\bme (?:he|ha|han) (?:dado|pegado) un golpe\b|\bgolpe en la (?:boca|cara)\b",
    r"\bse me ha (?:caido|salido|partido) (?:un|el|una|la) (?:diente|muela|paleta)\b",
    r"\b(?:le|me|se) ha arrancado\b|\bdiente arrancado\b",
    r"\bdolor (?:muy |super |tan )?(?:insoportable|inaguantable|horrible|terrible|tremendo|"
    r"brutal|intensisimo|muy fuerte|muy intenso|agudo|insufrible)\b",
    r"\bno (?:aguanto|soporto|puedo aguantar|puedo soportar) (?:mas )?(?:el|este|del|de)? ?dolor\b",
    r"\bme (?:duele|muero de dolor)\s+(?:muchisimo|horrores|a morir|fatal)\b|\bme muero de dolor\b",
    r"\bfiebre (?:muy )?alta\b|\bdesmay|\binconsciente\b|\bconvulsi|\binfarto\b|\bictus\b",
    r"\bdolor (?:en el|de) pecho\b|\bambulancia\b|\b(?:llamar|llamado|llame|llamo) al 112\b",
    r"\bse ha tragado\b|\bse ha atragantado\b|\batragantad[oa]\b|\breaccion alergica\b",
    # Spanish: legal
    r"\bdetenid[oa]s?\b|\bdetencion\b|\bdetener\b|\barrestad[oa]s?\b|\barresto\b",
    r"\b(?:lo|la|le|los|las|me|nos|te) (?:han |ha )?(?:detuvieron|detuvo|detienen|detiene|"
    r"arrestaron|arresto|arrestan|han detenido|ha detenido|han arrestado|ha arrestado)\b",
    r"\bcomisaria\b|\bcalabozos?\b|\bpolicia\b|\bguardia civil\b|\bmossos\b|\bertzaintza\b",
    r"\borden de alejamiento\b|\bviolencia\b|\bmaltrat|\bme (?:ha|han) pegado\b|\bme pega\b",
    r"\bagresion\b|\bagredid[oa]\b|\bme (?:ha|han) agredido\b|\bamenaza(?:s|do|da)? de muerte\b",
    r"\bme (?:quiere|quieren|va|van) a matar\b|\bme amenaza\b|\bsecuestr|\bjuicio rapido\b",
    r"\bse (?:ha|han) llevado a (?:mi|mis) (?:hijo|hija|hijos|hijas|nino|nina|ninos)\b",
    r"\bme (?:estan|van a) desahuciar (?:hoy|ahora|manana)\b|\bdesahucio (?:es )?(?:hoy|manana)\b",
    r"\bestoy en peligro\b|\bcorre peligro\b|\bmi vida corre\b",
    # Spanish: more ways to say it, and speech-to-text that drops the h ("me an detenido")
    r"\bemerjencias?\b|\bsocorro\b|\bayuda urgente\b|\bes muy grave\b",
    r"\b(?:sale|salen|echo|echa|esta saliendo|me sale) (?:mucha |muchisima )?sangre\b|"
    r"\bsangrado\b|\bsangre sin parar\b|\bno (?:deja|dejo) de sangrar\b",
    r"\b(?:moflete|carrillo|mejilla|cara)s? (?:\w+ )?(?:hinchad|inflamad)|\bse me (?:esta|ha) "
    r"hinchando (?:la|el|toda|mucho)\b",
    r"\b(?:un|con un|tengo un) dolor (?:horrible|terrible|insoportable|tremendo|brutal|"
    r"fortisimo|espantoso|enorme|de muerte)\b|\bdolor fortisimo\b",
    r"\bme duele (?:un monton|horrores|muchisimo|una barbaridad|a rabiar)\b",
    r"\bno (?:puedo|he podido|consigo|pude) dormir (?:del|por el|de|con el) dolor\b",
    r"\bno puedo (?:ni )?(?:abrir la boca|tragar)\b|\bme estoy muriendo\b",
    r"\b(?:se ha|me he|se han|nos hemos|se a|me e) (?:dado|pegado) (?:un golpe|un golpetazo|"
    r"en la boca|en la cara|en los dientes|con la boca)\b|\bgolpe en (?:los dientes|el diente)\b",
    r"\bse (?:le|me) ha (?:saltado|salido) (?:un|el|una|la|los|dos) (?:diente|dientes|muela|"
    r"paleta|paletas)\b",
    r"\b(?:h?an|h?a) (?:detenido|arrestado)\b|\bllevado detenid|\bme van a deportar\b|"
    r"\borden de expulsion\b|\bdeportad[oa]\b",
    r"\bme (?:ha|han) amenazado\b|\bme esta amenazando\b|\bpaliza\b|\bme (?:ha|han) "
    r"(?:atacado|golpeado)\b",
    r"\bno me (?:devuelve|deja ver) a (?:mi|mis|los) (?:hijo|hija|hijos|hijas|ninos|ninas|crios)\b",
    r"\bme (?:han|ha) cambiado la cerradura\b|\bme (?:estan|quieren|van a) echar de (?:casa|mi "
    r"casa|el piso) (?:hoy|ahora|esta noche)\b",
    # English: medical and dental
    r"\bemergenc(?:y|ies)\b|\bemergancy\b|\bemergeny\b",
    r"\bbleed(?:s|ing)?\b|\bbled\b|\bblood everywhere\b|\bhaemorrhag|\bhemorrhag",
    r"\b(?:cant|can not|cannot|couldnt|could not|struggling to|trouble|difficulty) ?"
    r"breath(?:e|ing)?\b",
    r"\b(?:face|cheek|jaw|mouth|lip|lips|neck|throat|tongue)\s+(?:is |are |has |have )?"
    r"(?:really |very |all |badly )?(?:swollen|swelling|swelled|puffed)\b",
    r"\bswollen (?:face|cheek|jaw|mouth|lip|neck|throat)\b|\bswelling (?:in|on) (?:my|his|her) "
    r"(?:face|cheek|jaw|neck)\b|\babscess\b",
    r"\baccident\b|\bknocked (?:out|my tooth|his tooth|her tooth)\b|\btooth (?:got )?knocked\b",
    r"\bsevere(?:ly)? (?:pain|toothache|bleeding|swelling|allergic)\b|\bexcruciating\b|\bagony\b",
    r"\b(?:unbearable|terrible|horrible|extreme|intense|awful|crippling) (?:pain|toothache)\b",
    r"\bpain is (?:unbearable|excruciating|too much|killing me)\b|\bkilling me\b",
    r"\bhigh fever\b|\bfainted\b|\bpassed out\b|\bunconscious\b|\bseizure\b|\bheart attack\b",
    r"\bstroke\b|\bchest pain\b|\bambulance\b",
    r"\b(?:call|called|calling|ring|rang) (?:999|911|112)\b",
    r"\ballergic reaction\b|\banaphyla|\bchoking\b|\bswallowed\b",
    # English: legal
    r"\barrest(?:ed)?\b|\bdetained\b|\bin custody\b|\binto custody\b|\bpolice custody\b",
    r"\bpolice\b|\bcops?\b|\bpolice station\b|\bdawn raid\b|\bcharged with\b|\bbail\b",
    r"\brestraining order\b|\bnon molestation order\b|\bprotective order\b|\bviolence\b",
    r"\bviolent\b|\bassault(?:ed)?\b|\babus(?:e|ed|ive) (?:partner|husband|wife|boyfriend|"
    r"girlfriend|ex)\b|\bdomestic abuse\b|\bhits? me\b|\bhit me\b|\bbeat(?:s|en)? me\b",
    r"\bthreat(?:ened|ening)? to kill\b|\bgoing to kill me\b|\bkidnap|\babduct",
    r"\btook my (?:kids|children|son|daughter)\b|\btaken my (?:kids|children|son|daughter)\b",
    r"\bin danger\b|\bnot safe\b|\bunsafe at home\b|\bbeing evicted (?:today|tonight|now)\b",
    r"\bbailiffs? (?:are )?(?:here|outside|at the door)\b",
    # English: more ways to say it
    r"\b(?:so much|lots of|a lot of|loads of) blood\b|\bblood (?:won ?t stop|keeps coming|"
    r"coming out|in (?:my|his|her) mouth)\b",
    r"\b(?:so much|really bad|terrible|awful|horrendous|unbearable|the worst|worst) "
    r"(?:tooth |jaw )?(?:pain|toothache)\b|\bpain (?:is )?killing\b",
    r"\bcant (?:sleep|stand) (?:because of |with |for )?the pain\b|\bcant (?:even )?(?:open my "
    r"mouth|swallow)\b",
    r"\btooth (?:came|got knocked|was knocked|has come) out\b|\bknocked (?:\w+ ){0,2}(?:out|"
    r"teeth|tooth)\b",
    r"\b(?:fell|fallen|hit|smashed|whacked|banged) (?:\w+ ){0,3}(?:mouth|face|teeth|jaw)\b",
    r"\bswollen up\b|\bswelling (?:is )?(?:spreading|getting worse)\b",
    r"\bbeing (?:held|questioned|interviewed) (?:by|at) (?:the )?police\b|\binterview under "
    r"caution\b|\bon remand\b|\bremanded\b|\bdeport(?:ed|ation)?\b|\bremoval centre\b|"
    r"\bimmigration detention\b",
    r"\bdomestic (?:abuse|violence)\b|\b(?:he|she|they) (?:hit|hits|attacked|beat|is hitting|"
    r"keeps hitting) me\b|\bthreatening (?:me|to (?:hurt|kill|harm|hit|take|come))\b|"
    r"\bscared for my (?:life|safety)\b",
    r"\b(?:locked|kicked) (?:me )?out\b|\bchanged the locks\b|\bevicted (?:today|tonight|now)\b",
    r"\bwont (?:give|bring|let me see) (?:back )?(?:my|the) (?:kids|children|son|daughter)\b",
    r"\bhelp me please\b|\bplease help me\b|\burgent help\b",
    # Infection signs, named on their own or together (pus, fever with a swelling)
    r"\bpus\b|\bsupura|\boozing\b|\bfiebre (?:\w+ ){0,6}(?:hinchad|inflamad|pus|flemon)|"
    r"(?:hinchad|inflamad)\w* (?:\w+ ){0,6}fiebre\b|\bfever (?:\w+ ){0,6}swol|"
    r"\bswol\w* (?:\w+ ){0,8}fever\b",
    r"\b(?:cara|boca|mejilla|moflete) (?:\w+ )?(?:echa|hecha) un (?:bombo|cristo|globo|balon)\b",
    # Pain that stops sleep, or that the caller cannot bear
    r"\b(?:no me deja|no me dejo|no me ha dejado) (?:ni )?dormir\b|\bsin (?:pegar ojo|dormir)\b|"
    r"\bno (?:he|hemos) (?:podido )?dormir\b|\bno aguanto mas\b|\bno lo aguanto\b",
    r"\b(?:cant|couldnt|can not|cannot|didnt|havent) (?:\w+ )?(?:sleep|slept)\b|\bkept me "
    r"(?:up|awake)\b|\bno sleep\b|\bcant take (?:it|the pain) any ?more\b",
    # Dental trauma: a tooth out, pushed in or loose after a blow
    r"\bse (?:le|me|te|nos) (?:ha )?(?:caido|salido|saltado) (?:\w+ ){0,2}"
    r"(?:diente|dientes|muela|paleta|paletas)\b|\bdiente definitivo\b",
    r"\b(?:diente|dientes|muela|paleta)s? (?:metid|movid|desplazad|torcid|suelt|flojo)\w*\b|"
    r"\bno (?:puedo|puede) cerrar la boca\b|\bcodazo\b|\brodillazo\b|\bpunetazo\b",
    r"\b(?:tooth|teeth) (?:\w+ ){0,2}(?:pushed (?:in|back)|loose after|wobbly after|knocked)\b|"
    r"\bcant (?:close|shut) my (?:mouth|jaw)\b",
    # Violence at home, in any tense
    r"\b(?:hitting|beating|hurting|attacking|strangling|choking) (?:me|us|my)\b|\bscared "
    r"(?:\w+ )?(?:hell|hes|shell|shes|theyll|he will|she will|they will|of him|of her)\b",
    r"\b(?:me esta|me estan) (?:pegando|golpeando|amenazando)\b|\btengo miedo de (?:que|el|ella|"
    r"mi)\b",
    # A child taken abroad or not returned; a hearing today or tomorrow
    r"\b(?:child|children|kids?|son|daughter|baby)s? (?:\w+ ){0,2}(?:taken|removed|abducted) "
    r"(?:abroad|out of the country|overseas)\b|\btaken (?:him|her|them) (?:abroad|to \w+ and)\b",
    r"\bllevado a (?:mi|mis|nuestro|nuestra|nuestros) (?:\w+ )?(?:al extranjero|fuera de espana)\b|"
    r"\bsustraccion (?:internacional )?de menores\b",
    r"\b(?:hearing|trial|court|tribunal)(?: \w+){0,3} (?:today|tomorrow|this afternoon|this "
    r"morning)\b|\b(?:today|tomorrow|this afternoon)s? (?:court|hearing)\b",
    r"\b(?:juicio|vista|comparecencia|juzgado)(?: \w+){0,3} (?:hoy|manana|esta tarde|"
    r"esta manana)\b",
    r"\bno (?:puede|pueden|podemos|podia|consigue) (?:ni )?(?:abrir|cerrar) la boca\b|"
    r"\bmandibula (?:\w+ )?(?:bloqueada|trabada|encajada)\b|\b(?:jaw|mouth) (?:is |has )?"
    r"(?:locked|stuck)\b|\b(?:cant|can not|cannot) (?:open|close) (?:his|her|their) "
    r"(?:mouth|jaw)\b",
    r"\b(?:take|taking|taken|took|fly|flying|flown) (?:her|him|them|my \w+|our \w+) (?:\w+ ){0,3}"
    r"(?:abroad|out of the country|overseas)\b|\b(?:taking|take|took|taken) (?:her|him|them) back "
    r"to [a-z]+\b|\bpermission to take (?:her|him|them)\b",
    r"\b(?:llevarse|llevar(?:la|lo|los|las)?|se (?:la|lo|los|las) (?:ha llevado|lleva|quiere "
    r"llevar|va a llevar)) (?:\w+ ){0,3}(?:al extranjero|fuera de espana|a su pais)\b",
    r"\bbailiffs? (?:are |r |is )?(?:here|outside|at the door|at my door|at our door)\b|"
    r"\b(?:be|get) "
    r"out (?:by )?(?:today|tonight)\b|\bechar(?:nos|me)? (?:hoy|esta noche)\b",
)
# An emergency word in a question about the service is a question ("¿atendéis urgencias?").
_SERVICE_QUESTION = _any(
    r"\b(?:atendeis|atienden|atiende|teneis|tienen|hay|haceis|hacen|cubre|cubren|cubris|"
    r"ofreceis|ofrecen|servicio de|horario de|telefono de|numero de|cita de|para)\s+"
    r"(?:de\s+)?(?:urgencias?|emergencias?)\b",
    r"\b(?:do|does|can) you (?:do|handle|take|see|treat|offer|have|cover|deal with)\s+"
    r"(?:\w+\s+)?emergenc(?:y|ies)\b",
    r"\bemergency (?:appointments?|number|line|service|hours|contact|fee|fees|cover|slot|"
    r"slots|dentist|dental)\b",
    r"\bwhat (?:happens|should i do|do i do) (?:if|in case)\b|\bque pasa si\b|\ben caso de\b",
)
# A kind of visit or fee named after emergencies. Removed before the emergency rules look.
_SERVICE_NOUN = _any(
    r"\b(?:consulta|consultas|cita|citas|visita|visitas|servicio|precio|tarifa|tarifas|"
    r"recargo|suplemento|telefono|numero|horario|turno)s? (?:de|para) "
    r"(?:urgencias?|emergencias?)\b",
    r"\b(?:urgencias?|emergencias?) (?:dentales?|odontologicas?) (?:cuesta|cuestan|vale|valen|"
    r"cobrais|cobran)\b",
    r"\b(?:cuesta|cuestan|cobrais|cobran|vale|valen|precio de|coste de|cobrar por) (?:una|la|"
    r"las|un) (?:urgencias?|emergencias?)\b",
    r"\b(?:emergenc\w*|emergancy|emergeny) (?:appointments?|apointments?|appts?|visits?|"
    r"consultations?|call ?outs?|fees?|rates?|charges?)\b",
)
# Personal markers that keep an emergency an emergency even inside a question.
_PERSONAL = _any(
    r"\bme\b|\bmi\b|\bmis\b|\btengo\b|\bestoy\b|\bmy\b|\bi\b|\bim\b|\bive\b|\bhijo\b|\bhija\b",
    r"\bson\b|\bdaughter\b|\bhusband\b|\bwife\b|\bmarido\b|\bmujer\b",
)
_WEAK_EMERGENCY = _any(
    r"\burgencias?\b|\bemergencias?\b|\bemergenc(?:y|ies)\b|\bpolicia\b|\bpolice\b|\baccident\b",
    r"\baccidente\b|\bviolencia\b|\bviolence\b|\bbail\b|\bdetener\b|\bcops?\b|\bstroke\b",
    r"\bswallowed\b|\bkilling me\b",
)
# Not emergencies, whatever word they use: a past accident to claim for, gums that bleed when
# brushing, a custody dispute, police checks for a job.
_NOT_EMERGENCY = _any(
    r"\bhace (?:un|una|dos|tres|unos|unas|varios|varias|\d+) (?:ano|anos|mes|meses|semanas)\b",
    r"\b(?:years?|months?) ago\b|\blast (?:year|month)\b|\bel ano pasado\b|\bel mes pasado\b",
    r"\b(?:reclamar|reclamacion|indemnizacion|claim|compensation|personal injury)\b",
    r"\bsangr\w*(?: \w+){0,3} (?:un poco|algo|a veces|al cepillar\w*|cuando me cepillo|"
    r"con el cepillo|al lavar\w*|con el hilo)\b",
    r"\bbleed\w*(?: \w+){0,3} (?:a bit|a little|sometimes|when i brush|when brushing|"
    r"when i floss|after brushing)\b",
    r"\bpolice (?:check|certificate|clearance)\b|\bcertificado de antecedentes\b",
    r"\bemergency (?:fund|contact details)\b|\bfondo de emergencia\b",
    r"\bno me pasa nada\b|\bpor si acaso\b|\bes (?:solo )?por saber(?:lo)?\b|\bjust asking\b|"
    r"\bfor the future\b|\bjust in case\b|\bjust curious\b",
)

_HIGH = _any(
    r"\burgente(?:s|mente)?\b|\burge\b|\bhoy mismo\b|\bcuanto antes\b|\blo antes posible\b",
    r"\blo mas (?:pronto|rapido) posible\b|\bsin falta\b|\bya mismo\b|\binmediatamente\b",
    r"\b(?:me|le|nos|te|la|el) (?:duele|duelen|esta doliendo|estan doliendo|dolia|dolian)\b",
    r"\b(?:tengo|tiene|tenemos|con|mucho|muchisimo|bastante|un|del|de|este|ese) dolor\b",
    r"\bdolor de (?:muelas?|dientes?|cabeza|oidos?|mandibula|espalda)\b|\bdolorid[oa]\b",
    r"\bmolestias? (?:muy )?fuertes?\b|\bme muero\b",
    r"\bse me ha roto\b|\bse me ha partido\b|\bdiente roto\b|\bmuela rota\b|\bse me ha caido\b",
    r"\bsangr(?:a|an|ando|ado)\b|\bbleed(?:s|ing)?\b|\bhinchad[oa]\b|\binflamad[oa]\b",
    r"\binfeccion\b|\bfiebre\b|\bpus\b",
    r"\bplazo (?:vence|acaba|termina|finaliza|expira)\b|\bvence (?:hoy|manana|el plazo)\b",
    r"\b(?:juicio|vista|citacion|declaracion|juzgado) (?:es |sera |tengo )?(?:hoy|manana|"
    r"pasado manana|esta semana)\b|\bme han citado\b|\bme (?:han|ha) despedido\b|\bdespido\b",
    r"\bdesahucio\b|\bdesahuciar\b|\bme (?:han|van a) embargar\b|\bnotificacion del juzgado\b",
    r"\burgent(?:ly)?\b|\basap\b|\bas soon as possible\b|\bright away\b|\bimmediately\b",
    r"\btoday if possible\b|\bthis (?:morning|afternoon) if\b|\bstraight away\b|\bsame day\b",
    r"\b(?:in|having|have|had|got|has|with|much|lot of|so much|bad|terrible|some|of) pain\b",
    r"\bpain (?:in|on) (?:my|his|her|the)\b|\bpainful\b(?! is)|\bhurting\b|\baching\b",
    r"\b(?:my|his|her|it|tooth|teeth|jaw|mouth|gum|gums|face|ear|back|this|that|still) "
    r"(?:\w+ )?(?:hurts|aches|really hurts|is hurting|is aching|are hurting|is sore)\b",
    r"\btoothache\b|\bsore (?:tooth|gum|gums|jaw|mouth)\b|\bits killing me\b",
    r"\bbroke(?:n)? (?:a |my )?(?:tooth|filling|crown)\b|\bchipped\b|\bcracked (?:a |my )?tooth\b",
    r"\bswollen\b|\bswelling\b|\binfection\b|\binfected\b|\bfever\b",
    r"\bdeadline\b|\bexpires? (?:today|tomorrow)\b|\b(?:court|hearing|tribunal|trial) "
    r"(?:is )?(?:today|tomorrow|on monday|this week)\b|\bsummons\b|\bbeen sacked\b|\bfired\b",
    r"\beviction\b|\bevicted\b|\bbailiffs?\b|\bdismissed\b",
)
_STRONG_COMPLAINT = -0.5  # sentiment at or below which a complaint is high


def _fold(text: str) -> str:
    # speech-to-text and chat slips that would hide a phrase
    return re.sub(r"\bmu(?:s|c)ho\b", "mucho", fold_words(text))


def _emergency(folded: str) -> Urgency | None:
    """ "emergency"; "high" for an emergency word in a question about the service; None when
    there is none or the context defuses it (then the high rules decide)."""
    service_question = bool(_SERVICE_QUESTION.search(folded))
    # "la cita de urgencia", "emergency appointment": a kind of visit, not a state
    folded = _SERVICE_NOUN.sub(" ", folded)
    hits = [m.group() for m in _EMERGENCY.finditer(folded)]
    if not hits:
        # "do you do emergency appointments?" may come from someone who needs one now
        return "high" if service_question and not _NOT_EMERGENCY.search(folded) else None
    strong = [h for h in hits if not _WEAK_EMERGENCY.fullmatch(h)]
    if _NOT_EMERGENCY.search(folded):
        # a past accident or bleeding gums: only another strong cue keeps it an emergency
        others = [h for h in strong if not re.match(r"sangr|bleed|bled|accident", h)]
        return "emergency" if others else None
    if strong:
        return "emergency"
    if _SERVICE_QUESTION.search(folded) and not _PERSONAL.search(folded):
        return "high"
    return "emergency"


def defused(text: str) -> bool:
    """True when the turn's emergency words are about the past, a hypothetical, a claim or the
    service itself ("¿cuánto cuesta una urgencia?"): then no model should call it one."""
    folded = _fold(text[:4000])
    return bool(
        _NOT_EMERGENCY.search(folded)
        or _SERVICE_QUESTION.search(folded)
        or _SERVICE_NOUN.search(folded)
    )


def urgency(text: str, language: Language, *, intent: str, sentiment: float) -> Urgency:
    """How urgent the turn is. ``intent`` is the public intent, ``sentiment`` in [-1, 1].

    Emergency is checked whatever the intent: a caller misread as spam must still be heard.
    Spam and plain information questions are low, as are bare yes/no answers.
    """
    folded = _fold(text[:4000])
    if not folded:
        return "low"
    level = _emergency(folded)
    if level == "emergency":
        return level
    if intent == "sales_spam":
        return "low"
    if level == "high" or _HIGH.search(folded):
        return "high"
    if intent == "complaint" and sentiment <= _STRONG_COMPLAINT:
        return "high"
    if intent == "info" or affirm(text, language) or deny(text, language):
        return "low"
    return "normal"
