"""What the receptionist says, in Spanish and English. Formal "usted" in Spanish."""

from __future__ import annotations

from datetime import datetime

_TEXTS: dict[str, dict[str, str]] = {
    "hello_known": {"es": "Hola, {name}.", "en": "Hello, {name}."},
    "welcome_back": {
        "es": "Hola de nuevo{name}. Seguimos donde lo dejamos.",
        "en": "Welcome back{name}. Let's carry on where we left off.",
    },
    "default_greeting": {
        "es": "Hola, le atiende el asistente virtual de {tenant}. ¿En qué puedo ayudarle?",
        "en": "Hello, this is {tenant}'s virtual assistant. How can I help you?",
    },
    "closed_now": {
        "es": "Ahora mismo estamos cerrados{reopen}, pero puedo ayudarle igualmente.",
        "en": "We are closed right now{reopen}, but I can still help you.",
    },
    "reopen": {"es": " (volvemos a abrir {when})", "en": " (we open again {when})"},
    "how_help": {
        "es": "¿En qué puedo ayudarle? Puedo darle cita, responder a sus preguntas, tomar un "
        "recado o pasarle con una persona.",
        "en": "How can I help? I can book an appointment, answer questions, take a message or "
        "put you through to a person.",
    },
    "not_understood": {
        "es": "Perdone, no le he entendido bien. ¿Quiere pedir cita, dejar un recado o hablar "
        "con una persona?",
        "en": "Sorry, I didn't quite understand. Would you like to book an appointment, leave a "
        "message or speak to a person?",
    },
    "empty": {
        "es": "No he recibido ningún texto. ¿En qué puedo ayudarle?",
        "en": "I didn't get any text. How can I help you?",
    },
    "ask_name": {"es": "¿Me dice su nombre, por favor?", "en": "May I have your name, please?"},
    "ask_name_again": {
        "es": "No pasa nada si prefiere no decirlo. ¿Me dice al menos un nombre para el recado?",
        "en": "That's fine if you'd rather not. Could you give me just a first name?",
    },
    "ask_phone": {
        "es": "¿En qué número de teléfono le podemos llamar?",
        "en": "What phone number can we call you on?",
    },
    "ask_phone_again": {
        "es": "No he entendido el número. ¿Me lo repite con el prefijo, por favor?",
        "en": "I didn't catch the number. Could you repeat it, with the area code?",
    },
    "confirm_phone": {
        "es": "He anotado el {phone}. ¿Es correcto?",
        "en": "I have {phone}. Is that right?",
    },
    "ask_reason": {
        "es": "¿Cuál es el motivo, para que se lo transmita?",
        "en": "What is it about, so that I can pass it on?",
    },
    "offer_slots": {
        "es": "Tengo estos huecos{who}: {slots}. ¿Cuál le viene mejor?",
        "en": "I have these times{who}: {slots}. Which suits you best?",
    },
    "offer_one_slot": {
        "es": "Tengo {slot}{who}. ¿Se lo reservo?",
        "en": "I have {slot}{who}. Shall I book it?",
    },
    "with_staff": {"es": " con {staff}", "en": " with {staff}"},
    "preferred_taken": {
        "es": "A esa hora no tengo hueco. ",
        "en": "That time isn't available. ",
    },
    "no_slots": {
        "es": "Lo siento, no encuentro huecos libres en las próximas semanas. Si quiere, le tomo "
        "los datos y le llamamos para darle cita.",
        "en": "Sorry, I can't find a free slot in the coming weeks. If you like, I'll take your "
        "details and we'll call you to arrange one.",
    },
    "past_date": {
        "es": "Esa fecha ya ha pasado. ",
        "en": "That date has already passed. ",
    },
    "which_slot": {
        "es": "¿Cuál de los huecos prefiere: {slots}? También puede decirme otro día u hora.",
        "en": "Which of these do you prefer: {slots}? You can also give me another day or time.",
    },
    "other_time": {
        "es": "De acuerdo. ¿Qué otro día u hora le vendría bien?",
        "en": "All right. Which other day or time would suit you?",
    },
    "booked": {
        "es": "Hecho: le he reservado {what} el {slot}{who}. Le esperamos.",
        "en": "Done: I've booked {what} for {slot}{who}. See you then.",
    },
    "booked_callback": {
        "es": "Hecho: le llamaremos el {slot} al {phone}.",
        "en": "Done: we'll call you on {slot} at {phone}.",
    },
    "slot_taken": {
        "es": "Vaya, ese hueco se acaba de ocupar. ",
        "en": "Sorry, that slot has just been taken. ",
    },
    "no_appointment": {
        "es": "No encuentro ninguna cita próxima a su nombre. ¿Quiere pedir una nueva o que le "
        "tome un recado?",
        "en": "I can't find an upcoming appointment for you. Would you like to book a new one "
        "or leave a message?",
    },
    "confirm_cancel": {
        "es": "Tiene cita el {slot}{who}. ¿Confirma que quiere anularla?",
        "en": "You have an appointment on {slot}{who}. Do you want to cancel it?",
    },
    "cancelled": {
        "es": "Su cita del {slot} queda anulada. ¿Quiere pedir otra?",
        "en": "Your appointment on {slot} is cancelled. Would you like to book another?",
    },
    "kept": {
        "es": "De acuerdo, mantenemos su cita del {slot}.",
        "en": "All right, your appointment on {slot} stays as it is.",
    },
    "confirmed": {
        "es": "Perfecto, su cita del {slot}{who} queda confirmada.",
        "en": "Great, your appointment on {slot}{who} is confirmed.",
    },
    "rescheduling": {
        "es": "Vamos a cambiar su cita del {slot}. ",
        "en": "Let's move your appointment on {slot}. ",
    },
    "rescheduled": {
        "es": "Hecho: su cita pasa al {slot}{who}.",
        "en": "Done: your appointment is now on {slot}{who}.",
    },
    "message_taken": {
        "es": "Le he dejado el recado a {who}; le contactarán lo antes posible.",
        "en": "I've passed your message to {who}; they will get back to you as soon as possible.",
    },
    "message_taken_team": {
        "es": "Le he dejado el recado al equipo; le contactarán lo antes posible.",
        "en": "I've passed your message to the team; they will get back to you as soon as "
        "possible.",
    },
    "message_for": {
        "es": "Le tomo el recado para {who}. ",
        "en": "I'll take a message for {who}. ",
    },
    "dont_know": {
        "es": "No tengo esa información y no quiero darle un dato equivocado. ¿Quiere que le "
        "tome un recado para que le respondan?",
        "en": "I don't have that information and I don't want to guess. Shall I take a message "
        "so that someone gets back to you?",
    },
    "anything_else": {"es": "¿Puedo ayudarle en algo más?", "en": "Anything else I can help with?"},
    "goodbye": {
        "es": "Gracias por contactar con nosotros. ¡Que tenga un buen día!",
        "en": "Thank you for getting in touch. Have a good day!",
    },
    "spam_close": {
        "es": "Gracias, pero no estamos interesados. Que tenga un buen día.",
        "en": "Thank you, but we are not interested. Have a good day.",
    },
    "handoff_open": {
        "es": "Le paso con {who}. Un momento, por favor; ya le he contado su consulta.",
        "en": "I'm putting you through to {who}. One moment please; I've passed on your details.",
    },
    "handoff_team": {"es": "una persona del equipo", "en": "a member of the team"},
    "human_closed": {
        "es": "Ahora mismo no hay nadie disponible, pero le tomo un recado y una persona le "
        "contactará en cuanto abramos. ",
        "en": "Nobody is available right now, but I'll take a message and a person will contact "
        "you as soon as we open. ",
    },
    "offer_human": {
        "es": "Siento las molestias. ¿Prefiere que le pase con una persona?",
        "en": "I'm sorry about this. Would you prefer to speak to a person?",
    },
    "complaint": {
        "es": "Siento mucho lo ocurrido. ",
        "en": "I'm very sorry about what happened. ",
    },
    "emergency_open": {
        "es": "Entiendo que es urgente. Le paso ahora mismo con {who}.",
        "en": "I understand this is urgent. I'm putting you through to {who} right now.",
    },
    "emergency_closed": {
        "es": "Entiendo que es urgente. {rule}",
        "en": "I understand this is urgent. {rule}",
    },
    "on_call": {
        "es": " Para urgencias fuera de horario puede llamar al {phone}.",
        "en": " For out-of-hours emergencies you can call {phone}.",
    },
    "emergency_default": {
        "es": "Si su vida corre peligro, llame al 112.",
        "en": "If anyone is in danger, call the emergency services.",
    },
    "emergency_notified": {
        "es": " He avisado ya al responsable de guardia.",
        "en": " I have already alerted the person on call.",
    },
    "booking_disabled": {
        "es": "Por aquí no puedo dar citas, pero le tomo los datos y le llamamos para darle una.",
        "en": "I can't book appointments here, but I'll take your details and we'll call you.",
    },
    "email_missing": {
        "es": "Para continuar me falta: {missing}.",
        "en": "To go ahead I still need: {missing}.",
    },
    "missing_name": {"es": "su nombre", "en": "your name"},
    "missing_phone": {"es": "un teléfono de contacto", "en": "a contact phone number"},
    "missing_reason": {"es": "el motivo", "en": "what it is about"},
    "missing_time": {"es": "qué día y hora le vienen bien", "en": "which day and time suit you"},
}

_WEEKDAYS = {
    "es": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
_MONTHS = {
    "es": ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
           "septiembre", "octubre", "noviembre", "diciembre"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
}  # fmt: skip


def say(key: str, language: str, **values: str) -> str:
    texts = _TEXTS[key]
    template = texts.get(language) or texts["es"]
    return template.format(**values)


def when(moment: datetime, language: str) -> str:
    """``martes 24 de noviembre a las 17:00`` / ``Tuesday 24 November at 17:00``."""
    day = _WEEKDAYS["es" if language == "es" else "en"][moment.weekday()]
    month = _MONTHS["es" if language == "es" else "en"][moment.month - 1]
    clock = f"{moment.hour}:{moment.minute:02d}"
    if language == "es":
        article = "a la" if moment.hour == 1 else "a las"
        return f"{day} {moment.day} de {month} {article} {clock}"
    return f"{day} {moment.day} {month} at {clock}"


def join(items: list[str], language: str) -> str:
    if len(items) <= 1:
        return "".join(items)
    conjunction = " o " if language == "es" else " or "
    return ", ".join(items[:-1]) + conjunction + items[-1]


def join_and(items: list[str], language: str) -> str:
    if len(items) <= 1:
        return "".join(items)
    conjunction = " y " if language == "es" else " and "
    return ", ".join(items[:-1]) + conjunction + items[-1]


def spoken_phone(e164: str) -> str:
    """A phone number grouped for reading back: +34 612 34 56 78 / +44 20 7946 0000."""
    digits = e164.lstrip("+")
    if e164.startswith("+34") and len(digits) == 11:
        national = digits[2:]
        return f"{national[:3]} {national[3:5]} {national[5:7]} {national[7:]}"
    if e164.startswith("+44"):
        national = "0" + digits[2:]
        return f"{national[:3]} {national[3:7]} {national[7:]}"
    return e164
