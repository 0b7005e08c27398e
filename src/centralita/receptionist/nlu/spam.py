"""Is this caller selling something or a scam? A score from 0 to 1, biased towards "no".

Three parts:

1. A logistic regression on the multilingual USE embeddings, trained at first use on our own
   ``sales_spam`` utterances against every other intent (data/intents.yaml) plus a sample of
   the SMS Spam Collection (data/sms_spam.tsv, CC BY 4.0, see data/SMS_SPAM_LICENSE.md). Its
   probability is combined (geometric mean) with the intent classifier's ``sales_spam``
   probability when the caller passes the ranking: both models must agree.
2. Agent feedback: a message within cosine ``FEEDBACK_SIMILARITY`` of one an agent marked as
   spam scores at least ``FEEDBACK_SPAM_FLOOR``; one as close to a message marked "not spam"
   scores at most ``FEEDBACK_HAM_CEILING``. The nearer example wins.
3. High-precision rules: prizes and lotteries, SEO, energy switching, robocall phrases, cold
   sales openers. A rule lifts the score to at least ``RULE_FLOOR``.

A genuine customer called spam is the costly mistake, so a turn that sounds like a customer's
own business (my appointment, my bill, you charged me) or that the intent classifier reads as
a complaint or billing question is capped below the threshold unless a rule fired.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib.resources import files

import numpy as np

from centralita.core.text import fold_words as _fold
from centralita.receptionist.nlu.intents import (
    Vectors,
    encode_cached,
    encode_sentences,
    fit_cached,
    training_vectors,
)
from centralita.receptionist.nlu.language import Language
from centralita.receptionist.nlu.result import SpamExample

# At or above it a turn is spam. 5-fold CV on intents.yaml: precision 0.991 / recall 0.991 at
# 0.5, 1.000 / 0.939 at 0.65; genuine questions we wrote to trip it ("I saw your website on
# Google") reach 0.6 without a rule, hence the margin (docs/nlu.md).
SPAM_THRESHOLD = 0.65
FEEDBACK_SIMILARITY = 0.8
FEEDBACK_SPAM_FLOOR = 0.9
FEEDBACK_HAM_CEILING = 0.1
RULE_FLOOR = 0.9
CUSTOMER_CEILING = 0.3  # below the threshold: a customer's own business is never spam
SMS_FILE = "sms_spam.tsv"

# The SMS sample: every n-th message of each class, cut to a typical turn's length, so first
# use stays near one second (encoding is about 1 ms per 80 characters).
_SMS_SPAM = 250
_SMS_HAM = 500
_SMS_CHARS = 160
# Class weights: our own spam examples are the target domain; SMS is a helper.
_WEIGHT_OURS_SPAM = 5.0
_WEIGHT_OURS_HAM = 1.0
_WEIGHT_SMS = 0.3
_STEPS = 300
_LEARNING_RATE = 2.0
_L2 = 1e-3


def _any(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(rf"(?:{p})" for p in patterns))


_RULES = _any(
    # prizes, lotteries, giveaways
    r"\b(?:has|ha|habeis|han) (?:sido )?(?:ganado|premiad[oa]|agraciad[oa]|seleccionad[oa]) "
    r"(?:un|una|el|la|con|para)\b",
    r"\b(?:le|te|les) ha tocado\b|\bpremio en metalico\b|\bcrucero gratis\b|\btarjeta regalo\b",
    r"\b(?:you ?ve|you have|youre|you are) (?:just )?(?:won|been (?:selected|chosen|awarded))\b",
    r"\bclaim (?:your|the) (?:prize|reward|gift)\b|\bfree (?:cruise|holiday|iphone|gift)\b",
    r"\b(?:breve|rapida|pequena) encuesta\b|\b(?:quick|short|brief) survey\b",
    r"\bcongratulations,? you\b|\bgift card\b|\byour (?:number|phone number) (?:was|has been) "
    r"(?:drawn|selected|chosen)\b|\bsu numero ha sido (?:elegido|seleccionado|premiado)\b",
    # SEO, reviews, marketing
    r"\bposicionamiento (?:web|seo|en google|en buscadores)\b|\bseo\b",
    r"\b(?:primera pagina|primeros puestos|primer puesto|primera posicion|el primero|la primera|"
    r"los primeros|arriba) (?:de|en) google\b",
    r"\b(?:first page|top) of google\b|\brank(?:ing)? (?:your \w+ )?(?:on|in) google\b",
    r"\bsearch engine optimi[sz]ation\b|\b(?:google )?resenas de (?:5|cinco) estrellas\b",
    r"\b(?:five|5) star (?:google )?reviews\b|\bagencia de marketing\b|\bmarketing agency\b",
    # energy, telecoms and solar switching
    r"\b(?:cambiar|cambio|cambiarse|pasarse) de (?:compania|comercializadora|proveedor|tarifa)"
    r"(?: de)? (?:la )?(?:luz|gas|electrica|energia|telefonia)\b",
    r"\b(?:ahorrar|ahorro|rebajar|reducir|bajar|abaratar)(?:le|les)? (?:\w+ ){0,6}"
    r"(?:factura|tarifa)s? (?:de (?:la )?luz|del gas|electrica|de energia)\b",
    r"\ble llamo de (?:iberdrola|endesa|naturgy|repsol|holaluz|totalenergies|movistar|vodafone|"
    r"orange|jazztel)\b|\bplacas solares\b|\bauditoria energetica\b",
    r"\bcodigo cups\b|\bcups de (?:la|su) (?:luz|factura)\b|\b(?:su|la) compania (?:electrica|de "
    r"(?:la )?luz|del gas) (?:para|le)\b",
    r"\bswitch (?:your )?(?:energy|gas|electricity|power|broadband) (?:supplier|provider)\b",
    r"\b(?:cheaper|lower|reduce your) (?:energy|electricity|gas) (?:bills?|tariff|supplier)\b",
    r"\bsolar panels\b|\benergy audit\b",
    # robocalls and scams
    r"\b(?:pulse|marque|presione|pulsa|marca) (?:la tecla |el )?(?:[0-9]|uno|dos|tres|cuatro|"
    r"cinco|seis|siete|ocho|nueve|cero|asterisco|almohadilla)\b",
    r"\bpress (?:[0-9]|one|two|three|four|five|six|seven|eight|nine|zero|star|hash|pound)\b",
    r"\bmensaje automatico\b|\bllamada automatica\b|\bautomated (?:message|call)\b",
    r"\bsu cuenta ha sido (?:bloqueada|suspendida)\b|\byour account (?:has been|is) "
    r"(?:suspended|blocked|locked|compromised)\b|\bextended warranty\b|\bgarantia extendida\b",
    r"\b(?:servicio tecnico|soporte tecnico) de microsoft\b|\bmicrosoft (?:technical )?support\b",
    r"\bpaquete (?:esta )?retenido\b|\bparcel (?:is )?(?:on hold|held)\b|\bpague las tasas\b",
    r"\bpay the (?:customs |delivery )?fee\b|\bhaga clic\b|\bclick (?:here|this link)\b",
    r"\bgane dinero\b|\bmake money from home\b|\bcrypto(?:currency)? investment\b",
    r"\bwe (?:can )?offer (?!you an appointment)\w+|\bcan i send (?:you |over )?(?:a |our )?"
    r"(?:free|quick|short) (?:audit|demo|trial|quote|review|report|consultation)\b",
    # a refund, a fee or a parcel from an authority or a courier, to be claimed through a link
    r"\b(?:hmrc|hacienda|agencia tributaria|seguridad social|dgt|correos|royal mail|dpd|dhl|"
    r"evri|ups|fedex|seur|mrw|gls|amazon|mensajeria|paqueteria|aeat|dvla|tv licensing)\b"
    r"(?: \w+){0,25} (?:tax refund|refund|reembolso|devolucion|cargo pendiente|tasas?|fee|multa|"
    r"fine|paquete|package|parcel|sancion|penalty|penalizacion|embargo|unpaid|deuda|debt|"
    r"irregularidad)\b(?: \w+){0,25} (?:enlace|link|claim|reclamar?|reclamala|reclamelo|accede|"
    r"acceda|access|pinche|pincha|click|clic|http|https|www|descargue|download|pay now|pague "
    r"ahora|regularice|regularise|regularize)\b",
    r"\b(?:tax refund|devolucion (?:de hacienda|fiscal|de impuestos|pendiente)|reembolso "
    r"pendiente|pending (?:tax )?refund)\b(?: \w+){0,15} (?:enlace|link|claim|accede|acceda|"
    r"access|click|clic|http|https|www)\b",
    # cold sales openers
    r"\bes usted el (?:responsable|dueno|propietario|gerente)\b|\bare you the (?:business )?"
    r"(?:owner|decision maker)\b",
    r"\bquien (?:lleva|se encarga de) (?:el tema de |los temas de )?(?:proveedores|compras|"
    r"marketing)\b",
    r"\bwho (?:is in charge of|handles) (?:your )?(?:purchasing|suppliers|marketing)\b",
    r"\b(?:le|les|os) (?:llamo|llamamos|escribo|escribimos) (?:de \w+ )?para ofrecer",
    r"\b(?:le|les|os) ofrecemos\b|\bqueremos ofrecerle\b|\bwe (?:can )?offer (?:you|your|a|an)\b",
    r"\bi(?:m| am) calling (?:from \w+ )?(?:about|to offer) (?:a|an|our) "
    r"(?:offer|deal|exclusive)\b",
)
# A sales pitch is told by two of these together (see ``_pitch``): who is selling, an offer,
# the person who buys for the business, the business as the target, and a product that
# salespeople call clinics and law firms about.
_SELLER = _any(
    r"\b(?:le|les|os) (?:llamo|llamamos|escribo|escribimos|contacto|contactamos) (?:de|desde) "
    r"(?!parte de)",
    r"\bllamamos de\b|\bsomos (?:una|un) (?:empresa|agencia|compania|consultora|startup|"
    r"distribuidora|plataforma|equipo)\b|\bsoy (?:comercial|asesor|asesora|agente comercial|"
    r"consultor|consultora|representante|delegado|delegada)\b|\bnuestr[oa]s? (?:empresa|"
    r"software|servicio|servicios|producto|productos|plataforma|agencia|app|aplicacion|equipo "
    r"comercial)\b|\bvendemos\b|\bdistribuimos\b|\btrabajo para (?:una|la) (?:empresa|compania)\b",
    r"\b(?:os|le|les) (?:escribo|escribimos|llamo|llamamos) desde (?:una|un|la|el) (?:empresa|"
    r"agencia|compania|consultora|distribuidora|startup)\b|\basesora? (?:energetic[oa]|"
    r"comercial|financier[oa]|de (?:seguros|empresas|ventas))\b|\bhemos (?:creado|desarrollado|"
    r"lanzado|disenado) (?:un|una)\b",
    r"\b(?:soy|le habla) [a-z]+,? (?:de|desde) (?!parte\b)(?!la\b)(?!el\b)(?!su\b)(?!mi\b)[a-z]+ "
    r"[a-z]+\b|\b(?:im|i am|this is|my name is) [a-z]+ (?:\w+ )?(?:from|at|with) "
    r"(?!the\b)(?!your\b)(?!flat\b)(?!number\b)[a-z]+\b",
    r"\bwe ?(?:ve| have)? (?:helped|help|work with|worked with) (?:\w+ ){0,2}(?:clinics|law firms|"
    r"practices|dentists|solicitors|businesses|firms)\b|\bhemos ayudado a (?:\w+ ){0,2}(?:clinicas|"
    r"despachos|negocios)\b|\bwe make\b|\bfabricamos\b|\bwe supply\b|\bsuministramos\b",
    r"\bwe ?(?:ve| have) (?:built|developed|launched|created|designed) (?:a|an|the)\b|\bim "
    r"\w+ from \w+(?: \w+)? (?:we|our)\b|\b(?:energy|business|sales|account) (?:consultant|"
    r"adviser|advisor|executive|manager) (?:at|from|with)\b",
    r"\bi ?m calling (?:from|on behalf of) (?!my)|\bcalling from (?!my)\b|\bwe (?:are|re) "
    r"(?:a|an) (?:company|agency|firm|business|provider|startup|team|supplier|platform)\b",
    r"\bour (?:company|software|service|services|product|products|platform|agency|app|team)\b|"
    r"\bwe sell\b|\bwe (?:help|work with) (?:clinics|practices|law firms|businesses|dentists)\b",
)
_OFFER = _any(
    r"\bofrec(?:erle|erles|emos|eriamos|ernos)\b|\ble ofrezco\b|\bpresentar(?:le|les)\b|"
    r"\bproponer(?:le|les)\b|\ble propongo\b|\boferta (?:exclusiva|especial|para (?:usted|su|"
    r"ustedes|empresas|negocios))\b|\bdescuento (?:exclusivo|especial) para\b|\bsin (?:coste|"
    r"inversion|permanencia) (?:para|alguno|inicial)\b|\bahorrar(?:le|les)\b|\ble interesaria\b|"
    r"\bles interesaria\b|\btiene (?:usted )?un (?:minuto|momento)\b|\bprueba gratuita\b|"
    r"\bdemo (?:gratis|gratuita)\b|\ble hago una demo\b",
    r"\boffer you\b|\ban offer for\b|\b(?:exclusive|special) (?:offer|deal|rate)\b|"
    r"\bdeal (?:for|on) (?:you|your)\b|\bsave you\b|\bintroduce (?:you to )?our\b|"
    r"\bwould you be interested in (?:a|an|our)\b|\b(?:have|got) a (?:minute|moment)\b|"
    r"\bfree (?:trial|demo)\b|\bno (?:upfront|obligation) (?:cost|fee|quote)\b|"
    r"\bno obligation\b|\bwithout obligation\b|\bfree audit\b|\b(?:drop (?:in|off|by)|leave|send "
    r"(?:over|you)?) (?:some |a few |free )?samples\b",
    r"\b(?:dejar(?:le|les|os)?|traer(?:le|les|os)?|mostrar(?:le|les|os)?|enviar(?:le|les|os)?) "
    r"(?:unas |algunas )?muestras\b|\bbajada (?:en|de) (?:su|la) tarifa\b|\bmitad de precio\b",
    r"\b(?:presupuesto|estudio|auditoria|demo|demostracion|prueba) (?:gratis |gratuit[oa] )?sin "
    r"compromiso\b|\bsin ningun compromiso\b|\bos paso un presupuesto\b|\ble paso un "
    r"presupuesto\b|\bpodemos (?:reducir|rebajar|bajar|ahorrar)(?:le|les)?\b",
)
# The person who buys for the business: customers do not ask for them.
_BUYER = _any(
    r"\bel (?:responsable|dueno|propietario|gerente|encargado) (?:del negocio|de la clinica|del "
    r"despacho|de compras|de marketing|de la empresa)\b|\bes usted el (?:responsable|dueno|"
    r"propietario|gerente|encargado)\b|\b(?:quien|la persona que|el que|la que) (?:lleva|se "
    r"encarga de|gestiona|decide)\b|\bcon quien hablo (?:de|para)\b",
    r"\b(?:is this|am i speaking (?:to|with)|are you) the (?:owner|decision maker|person in "
    r"charge|business owner)\b|\b(?:who|whoever|the person who) (?:handles|manages|looks after|"
    r"is in charge of|deals with|takes care of)\b|\b(?:best|right) person to (?:speak|talk) "
    r"to\b|\bla persona (?:adecuada|indicada) (?:para hablar|con quien hablar)\b",
)
# The business as the one being sold to.
_BUSINESS = _any(
    r"\bsu (?:negocio|empresa|clinica|despacho|local|consulta|oficina|equipo|marca|personal|"
    r"contrato de)\b|\bsus (?:pacientes|clientes|empleados|trabajadores|ventas)\b",
    r"\byour (?:business|company|practice|clinic|firm|office|staff|team|patients|clients|"
    r"customers|brand|sales)\b|\bbusinesses like yours\b",
    r"\b(?:small |local |independent )?(?:law firms|practices|dental (?:clinics|practices)|"
    r"businesses) (?:like yours|in your area)\b|\bfor small (?:law firms|practices|businesses|"
    r"clinics)\b|\b(?:clinicas|despachos|negocios|consultas) (?:dentales )?(?:como (?:la|el) "
    r"suy[oa]|de su zona)\b|\ben clinicas dentales\b|\bpara clinicas\b|\bpara despachos\b",
)
_PRODUCT = _any(
    r"\bseo\b|\bmarketing\b|\bpublicidad\b|\bredes sociales\b|\bsoftware\b|\bcrm\b|"
    r"\bfibra\b|\btelefonia\b|\balarmas?\b|\brenting\b|\bleasing\b|\bplacas solares\b|"
    r"\btarifa de (?:luz|gas)\b|\bsuministro\b|\bencuesta\b|\bleads\b|\bpagina web\b|"
    r"\bdatafono\b|\btpv\b|\bguia de empresas\b|\bcompras\b|\bproveedores\b|\bformacion "
    r"bonificada\b|\bseguros? (?:de|para) (?:empresas?|negocios?|comercios?)\b",
    r"\bbroadband\b|\bwebsite\b|\bweb design\b|\badvertising\b|\bsurvey\b|\bmerchant\b|"
    r"\bcard (?:payment )?(?:terminals?|machines?)\b|\bbusiness (?:insurance|loans?|energy|"
    r"electricity|directory|rates)\b|\bpurchasing\b|\boffice supplies\b|\butilities\b|"
    r"\bmagazine\b|\brecruitment\b",
)


def _pitch(folded: str) -> bool:
    """Someone selling to the business: a seller or an offer aimed at the business, a product,
    or its buyer; or a request for the buyer of a product."""
    seller, offer = bool(_SELLER.search(folded)), bool(_OFFER.search(folded))
    buyer, business = bool(_BUYER.search(folded)), bool(_BUSINESS.search(folded))
    product = bool(_PRODUCT.search(folded))
    if seller and (offer or buyer or business or product):
        return True
    if offer and (buyer or business or product):
        return True
    return buyer and product


# A customer's own business with the tenant: never spam unless a rule says so.
_CUSTOMER = _any(
    r"\bmi (?:cita|factura|tratamiento|caso|expediente|abogad[oa]|dentista|doctora?|hij[oa]|"
    r"recibo|presupuesto|empaste|implante|ortodoncia|limpieza)\b",
    r"\bme (?:habeis|han|habian|has) (?:cobrado|cambiado|cancelado|puesto|dado)\b",
    r"\bme (?:cobrasteis|cobraron|cambiasteis|cancelasteis)\b",
    r"\bmy (?:appointment|bill|invoice|treatment|case|file|lawyer|solicitor|dentist|doctor|son|"
    r"daughter|filling|implant|braces|cleaning|estimate|quote)\b",
    r"\b(?:you|they) (?:charged|overcharged|cancelled|canceled|moved|billed) me\b",
    r"\bi was (?:charged|overcharged|billed)\b|\bqueja\b|\breclamacion\b|\bcomplaint\b",
    r"\bmi (?:padre|madre|marido|mujer|pareja|familia|abuel[oa])\b",
    r"\bmy (?:fathers?|mothers?|dads?|mums?|moms?|husbands?|wifes?|partners?|family|familys|"
    r"grandmothers?|grandfathers?)\b",
    # money words a customer uses about their own account (a scam's "factura pendiente" or
    # "unpaid invoice" is not one of them: bare "factura", "invoice" or "refund" do not cap)
    r"\b(?:la|mi|esta|vuestra|my|this|your|the) (?:factura|recibo|minuta|invoice|receipt|bill)\b"
    r"(?! (?:pendiente|impagada|vencida|is overdue|overdue|unpaid))|\bme (?:habeis|han) "
    r"(?:cobrado|facturado)\b|\bovercharged\b|\bi owe\b|\bdebo\b|\bmy refund\b|"
    r"\bthe refund (?:for|of) my\b",
    r"\b(?:queria|querria|quisiera|wanted|want|would like|like) (?:some |mas |more )?"
    r"(?:informacion|information|info)\b",
    r"\bde vuestra parte\b|\bme llamasteis\b|\bwas that you\b|\bwere you\b|\byou called me\b",
    # booking or thanking for oneself: a seller does neither
    r"\b(?:pedir|reservar|coger|solicitar) (?:una )?cita\b|\bme (?:gustaria|gustaria) (?:pedir|"
    r"reservar)\b|\b(?:want|like|wanna|id like|would like) to book\b|\bgot charged\b|"
    r"\b(?:can|could|may) (?:we|i) (?:book|have|get) (?:a|an|the) (?:call|appointment|consultation|"
    r"meeting)\b",
    r"\bfor helping (?:us|me)\b|\bpor ayudar(?:nos|me)\b|\bto everyone at\b|\ba todo el "
    r"equipo\b",
    # an existing supplier chasing its own invoice is a business contact, not a cold call
    r"\b(?:supplier|proveedor|proveedora) (?:for|of|de) (?:your|vuestra|vuestro|su) "
    r"(?:clinic|practice|firm|clinica|despacho|consulta)\b|\byour (?:usual |regular )?supplier\b|"
    r"\bvuestro proveedor (?:de siempre|habitual)\b",
)
_CUSTOMER_INTENTS = frozenset({"complaint", "billing"})
# A customer telling us about a scam they received quotes the scam's words; the rules would
# fire on the quotation. This wins over the rules.
_REPORTED = _any(
    r"\b(?:i (?:received|got|have received|ve received|ve got)|someone sent me|i was sent) "
    r"(?:a|an|this|the) (?:text|sms|message|email|e mail|letter|call)\b",
    r"\bclaiming to be (?:from )?\b|\b(?:is|was) (?:this|it|that) (?:genuine|legit|real|a scam)\b|"
    r"\bcould (?:this|it) be (?:genuine|real|a scam)\b",
    r"\bme (?:ha|han) (?:llegado|enviado|mandado) (?:un|una|este|esta) (?:sms|mensaje|correo|"
    r"email|carta|llamada)\b|\bque dice ser de\b|\bhaciendose pasar por\b|\b(?:es|sera) "
    r"(?:fiable|de verdad|real|una estafa|un timo)\b",
)


def rule_hit(text: str) -> bool:
    """True when a high-precision spam phrase is in ``text`` (either language) and the text
    does not report a scam someone received."""
    folded = _fold(text)
    if _REPORTED.search(folded):
        return False
    return bool(_RULES.search(folded)) or _pitch(folded)


def load_sms(name: str = SMS_FILE) -> list[tuple[str, bool]]:
    """The SMS Spam Collection shipped in ``data/``: (message, is_spam), in file order."""
    data = files("centralita.receptionist.nlu").joinpath("data", name).read_text(encoding="utf-8")
    reader = csv.reader(io.StringIO(data), delimiter="\t")
    next(reader)  # header: sentence<TAB>label, where label 0 = spam and 1 = ham
    return [(row[0], row[1].strip() == "0") for row in reader if len(row) == 2]


def _sample(messages: list[str], size: int) -> list[str]:
    step = max(1, len(messages) // size)
    return [m[:_SMS_CHARS] for m in messages[::step][:size]]


@dataclass(frozen=True)
class _Logistic:
    weights: Vectors
    bias: float

    def probability(self, vectors: Vectors) -> Vectors:
        result: Vectors = 1.0 / (1.0 + np.exp(-(vectors @ self.weights + self.bias)))
        return result


def fit_logistic(vectors: Vectors, targets: Vectors, sample_weights: Vectors) -> _Logistic:
    """Weighted binary logistic regression by full-batch gradient descent; deterministic, so
    its result is cached on disk (``intents.fit_cached``)."""
    key = (
        f"logistic steps={_STEPS} rate={_LEARNING_RATE!r} l2={_L2!r} shape={vectors.shape}",
        vectors.astype(np.float64).tobytes(),
        targets.astype(np.float64).tobytes(),
        sample_weights.astype(np.float64).tobytes(),
    )
    arrays = fit_cached("logistic", key, lambda: _train_logistic(vectors, targets, sample_weights))
    return _Logistic(arrays["weights"], float(arrays["bias"][0]))


def _train_logistic(
    vectors: Vectors, targets: Vectors, sample_weights: Vectors
) -> dict[str, Vectors]:
    weights = np.zeros(vectors.shape[1])
    bias = 0.0
    total = float(sample_weights.sum())
    for _ in range(_STEPS):
        predicted = 1.0 / (1.0 + np.exp(-(vectors @ weights + bias)))
        gradient = (predicted - targets) * sample_weights
        weights -= _LEARNING_RATE * (vectors.T @ gradient / total + _L2 * weights)
        bias -= _LEARNING_RATE * float(gradient.sum()) / total
    return {"weights": weights, "bias": np.array([bias])}


@cache
def _default_model() -> _Logistic:
    _, intents, ours = training_vectors()
    sms = load_sms()
    sms_spam = _sample([m for m, spam in sms if spam], _SMS_SPAM)
    sms_ham = _sample([m for m, spam in sms if not spam], _SMS_HAM)
    theirs = encode_cached(sms_spam + sms_ham, name="sms")
    ours_spam = np.array([i == "sales_spam" for i in intents], dtype=np.float64)
    targets = np.concatenate([ours_spam, np.ones(len(sms_spam)), np.zeros(len(sms_ham))])
    weights = np.concatenate(
        [
            np.where(ours_spam == 1, _WEIGHT_OURS_SPAM, _WEIGHT_OURS_HAM),
            np.full(len(sms_spam) + len(sms_ham), _WEIGHT_SMS),
        ]
    )
    return fit_logistic(np.vstack([ours, theirs]), targets, weights)


@lru_cache(maxsize=4096)
def _feedback_vector(text: str) -> Vectors:
    vector: Vectors = encode_sentences([text])[0]
    return vector


class SpamScorer:
    """The spam score of one turn; the model is trained on first use and shared."""

    def _vector(self, text: str, vector: Vectors | None) -> Vectors:
        if vector is not None:
            return vector
        encoded: Vectors = encode_sentences([text])[0]
        return encoded

    def model_probability(self, text: str, *, vector: Vectors | None = None) -> float:
        """The embedding model's probability alone (no rules, no feedback)."""
        return float(_default_model().probability(self._vector(text, vector)[None, :])[0])

    def score(
        self,
        text: str,
        language: Language,
        *,
        intent_ranking: Sequence[tuple[str, float]] = (),
        feedback: Sequence[SpamExample] = (),
        vector: Vectors | None = None,
    ) -> float:
        """The spam score of ``text`` in [0, 1]; at or above ``SPAM_THRESHOLD`` it is spam.

        ``intent_ranking`` is the intent classifier's ranking for the same text (fine labels),
        ``feedback`` the tenant's agent-marked examples, ``vector`` the text's embedding if
        the caller already has it (saves encoding twice).
        """
        if not text.strip():
            return 0.0
        vector = self._vector(text, vector)
        score = float(_default_model().probability(vector[None, :])[0])
        ranking = dict(intent_ranking)
        if ranking:
            score = math.sqrt(score * ranking.get("sales_spam", 0.0))
        folded = _fold(text)
        ruled = bool(_RULES.search(folded)) or _pitch(folded)
        if _REPORTED.search(folded):
            score = min(score, CUSTOMER_CEILING)
        elif ruled:
            score = max(score, RULE_FLOOR)
        else:
            top = max(ranking, key=lambda k: ranking[k]) if ranking else None
            if top in _CUSTOMER_INTENTS or _CUSTOMER.search(folded):
                score = min(score, CUSTOMER_CEILING)
        score = self._with_feedback(score, vector, feedback)
        return round(min(1.0, max(0.0, score)), 4)

    def _with_feedback(
        self, score: float, vector: Vectors, feedback: Sequence[SpamExample]
    ) -> float:
        best_spam = best_ham = -1.0
        for example in feedback:
            if not example.text.strip():
                continue
            similarity = float(_feedback_vector(example.text) @ vector)
            if example.is_spam:
                best_spam = max(best_spam, similarity)
            else:
                best_ham = max(best_ham, similarity)
        if max(best_spam, best_ham) < FEEDBACK_SIMILARITY:
            return score
        if best_spam >= best_ham:
            return max(score, FEEDBACK_SPAM_FLOOR)
        return min(score, FEEDBACK_HAM_CEILING)


@cache
def default_scorer() -> SpamScorer:
    """One shared scorer per process."""
    return SpamScorer()
