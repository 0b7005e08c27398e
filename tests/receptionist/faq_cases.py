"""Caller questions for the two demo tenants, labelled by hand (written for this project).

``ANSWERABLE[slug]``: (language, question, acceptable keys). A question gets more than one key
when the document answers it in two places, e.g. the dental clinic's free first visit is both
an FAQ entry and a service. ``UNANSWERABLE[slug]``: questions the document does not answer,
so the receptionist should say it does not know; a few are deliberately close to the
business (veneers at a dentist, criminal law at a solicitor's).

The same set chose ``DEFAULT_THRESHOLD`` and checks it, so the figures are optimistic.
"""

from __future__ import annotations

from typing import Literal

Lang = Literal["es", "en"]

DENTAL = "clinica-dental-sonrisa"
LAW = "hartley-law"

ANSWERABLE: dict[str, list[tuple[Lang, str, tuple[str, ...]]]] = {
    DENTAL: [
        ("es", "¿Aceptáis el seguro de Adeslas?", ("seguros",)),
        ("es", "Tengo DKV, ¿me cubre la limpieza?", ("seguros",)),
        ("es", "¿La primera consulta se paga?", ("primera-visita-gratis", "primera-visita")),
        ("es", "¿Puedo financiar el tratamiento en cuotas?", ("financiacion",)),
        ("es", "¿Se puede pagar con Bizum o con tarjeta?", ("formas-de-pago",)),
        ("es", "¿En qué calle está la clínica? ¿Hay metro cerca?", ("como-llegar",)),
        ("es", "¿A qué hora abren los sábados?", ("horario",)),
        ("es", "Me duele muchísimo una muela, ¿me pueden ver hoy?", ("urgencias", "urgencia")),
        ("es", "Quiero anular la cita que tengo, ¿cómo lo hago?", ("cancelar-cita",)),
        ("es", "¿Tratan a niños pequeños?", ("ninos",)),
        ("es", "Mi marido es inglés, ¿alguien habla inglés?", ("idiomas",)),
        ("es", "Necesito un papel para justificar la falta en el trabajo", ("justificante",)),
        ("es", "¿Cuánto vale una limpieza de boca?", ("limpieza",)),
        ("es", "¿Cuánto cuesta ponerse un implante?", ("implante",)),
        ("es", "¿Hacéis ortodoncia invisible?", ("ortodoncia-invisible",)),
        ("es", "Quiero blanquearme los dientes, ¿qué precio tiene?", ("blanqueamiento",)),
        ("es", "Aprieto los dientes por la noche, ¿hacen férulas?", ("ferula",)),
        ("es", "¿Cuánto cuesta una endodoncia?", ("endodoncia",)),
        ("en", "Do you take Sanitas insurance?", ("seguros",)),
        (
            "en",
            "Is the first appointment free of charge?",
            ("primera-visita-gratis", "primera-visita"),
        ),
        ("en", "Can I spread the cost over several months?", ("financiacion",)),
        ("en", "Do you accept credit cards?", ("formas-de-pago",)),
        ("en", "What's your address? Is there parking nearby?", ("como-llegar",)),
        ("en", "When are you open on Fridays?", ("horario",)),
        ("en", "I broke a tooth and it really hurts, what do I do?", ("urgencias", "urgencia")),
        ("en", "I need to move my appointment to another day", ("cancelar-cita",)),
        ("en", "Can I bring my five-year-old son for a check-up?", ("ninos",)),
        ("en", "Does anyone there speak English?", ("idiomas",)),
        ("en", "Can you give me a certificate of attendance for work?", ("justificante",)),
        ("en", "How much is a scale and polish?", ("limpieza",)),
        ("en", "How much does it cost to have a tooth pulled?", ("extraccion",)),
        ("en", "Do you do braces for adults?", ("ortodoncia-brackets", "ortodoncia-invisible")),
        ("en", "What's the price of teeth whitening?", ("blanqueamiento",)),
        ("en", "I need a filling, how much is it?", ("empaste",)),
    ],
    LAW: [
        ("en", "Is the first meeting free?", ("free-consultation", "initial-consultation")),
        ("en", "Can I get legal aid with you?", ("legal-aid",)),
        ("en", "What are your hourly rates?", ("fees",)),
        ("en", "Which tube station is closest to your office?", ("location",)),
        ("en", "What time do you close on Fridays?", ("opening-hours",)),
        ("en", "What identification should I bring to the first meeting?", ("id-documents",)),
        ("en", "How can I get my papers to you securely?", ("send-documents",)),
        ("en", "I'd like to talk to the solicitor handling my case", ("speak-to-solicitor",)),
        ("en", "I'm unhappy with the service, how do I complain?", ("complaints",)),
        ("en", "Can the meeting be on Zoom instead of in person?", ("video-meetings",)),
        ("en", "How much do you charge to sell my flat?", ("residential-conveyancing",)),
        ("en", "I want to get divorced, can you help?", ("divorce",)),
        ("en", "My employer offered me a settlement agreement", ("settlement-agreement",)),
        ("en", "I was unfairly dismissed from my job", ("employment-dispute",)),
        ("en", "How much does it cost to make a will?", ("will",)),
        ("en", "I need a power of attorney for my mother", ("lasting-power-of-attorney",)),
        ("en", "My father died and we need help with probate", ("probate",)),
        ("es", "¿La primera consulta es gratuita?", ("free-consultation", "initial-consultation")),
        ("es", "¿Trabajan con asistencia jurídica gratuita?", ("legal-aid",)),
        ("es", "¿Cuánto cobran por hora?", ("fees",)),
        ("es", "¿Dónde está el despacho?", ("location",)),
        ("es", "¿Cuál es el horario de la oficina?", ("opening-hours",)),
        ("es", "¿Qué documento de identidad tengo que llevar?", ("id-documents",)),
        ("es", "¿Cómo les envío los documentos?", ("send-documents",)),
        ("es", "Quiero hablar con mi abogado", ("speak-to-solicitor",)),
        ("es", "Quiero poner una reclamación contra el despacho", ("complaints",)),
        ("es", "¿Podemos hacer la reunión por videollamada?", ("video-meetings",)),
        (
            "es",
            "Estoy comprando una casa, ¿cuánto cobran por la compraventa?",
            ("residential-conveyancing",),
        ),
        ("es", "Me quiero divorciar", ("divorce",)),
        ("es", "Me han despedido injustamente", ("employment-dispute",)),
        ("es", "Quiero hacer testamento", ("will",)),
        ("es", "Necesito renovar el alquiler del local de mi negocio", ("commercial-lease",)),
        ("es", "Quiero cambiar mi hipoteca a otro banco", ("remortgage",)),
    ],
}

UNANSWERABLE: dict[str, list[tuple[Lang, str]]] = {
    DENTAL: [
        ("es", "¿Arreglan coches?"),
        ("es", "¿Hacéis cirugía estética de nariz?"),
        ("es", "¿Me pueden graduar la vista?"),
        ("es", "¿Venden audífonos?"),
        ("es", "¿Atienden a perros y gatos?"),
        ("es", "¿Hacen sesiones de fisioterapia?"),
        ("es", "¿Quitan tatuajes con láser?"),
        ("es", "¿Están buscando personal? Quería dejar mi currículum"),
        ("es", "¿Tienen wifi para los pacientes?"),
        ("es", "¿Ponen bótox en la frente?"),
        ("en", "Do you fix cars?"),
        ("en", "Can I get my eyes tested there?"),
        ("en", "Do you do hair transplants?"),
        ("en", "Do you deliver pizza?"),
        ("en", "Can you look at my dog's teeth?"),
        ("en", "Do you sell hearing aids?"),
        ("en", "Are you hiring dental nurses at the moment?"),
        ("en", "Do you do physiotherapy for back pain?"),
        ("en", "Can I buy a gift voucher?"),
        ("en", "Do you do laser tattoo removal?"),
    ],
    LAW: [
        ("en", "Do you fix cars?"),
        ("en", "I've been arrested, can you represent me at the police station?"),
        ("en", "Can you help me get a visa to stay in the UK?"),
        ("en", "I want to patent my invention"),
        ("en", "Can you do my tax return?"),
        ("en", "I was injured in a car accident and want to claim compensation"),
        ("en", "Can you value my house for sale?"),
        ("en", "My boiler is broken, can you send someone?"),
        ("en", "Do you have any vacancies for trainee solicitors?"),
        ("en", "Can I appeal a parking ticket with you?"),
        ("es", "¿Arreglan coches?"),
        ("es", "Me han detenido, ¿me pueden defender en un juicio penal?"),
        ("es", "Necesito tramitar un visado de trabajo"),
        ("es", "Quiero registrar una patente"),
        ("es", "¿Me hacen la declaración de la renta?"),
        ("es", "He tenido un accidente de tráfico y quiero una indemnización"),
        ("es", "¿Venden pisos?"),
        ("es", "Se me ha roto la caldera"),
        ("es", "¿Buscan becarios?"),
        ("es", "Quiero recurrir una multa de aparcamiento"),
    ],
}
