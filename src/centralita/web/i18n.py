"""Labels of the web pages in Spanish and English; pure, so a test checks both are complete."""

from __future__ import annotations

LANGUAGES = ("es", "en")
DEFAULT_LANGUAGE = "en"


def primary(tag: str | None) -> str | None:
    """``es-ES`` → ``es`` if we have it, else None."""
    if not tag:
        return None
    code = tag.strip().split("-")[0].split("_")[0].lower()
    return code if code in LANGUAGES else None


def from_accept_language(header: str) -> str | None:
    """The first supported language in an Accept-Language header, by quality."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        code = primary(tag)
        if code and quality > 0:
            ranked.append((-quality, index, code))
    return min(ranked)[2] if ranked else None


def pick_language(*candidates: str | None) -> str:
    """The first candidate we support, in order of preference."""
    for candidate in candidates:
        code = primary(candidate)
        if code:
            return code
    return DEFAULT_LANGUAGE


STRINGS: dict[str, dict[str, str]] = {
    "es": {
        "language": "Idioma",
        "sign_in": "Entrar",
        "sign_out": "Cerrar sesión",
        "login_title": "Entrar en Centralita",
        "login_lead": "Accede al espacio de trabajo de tu empresa.",
        "workspace": "Espacio de trabajo",
        "workspace_hint": "El identificador corto de tu empresa, p. ej. clinica-sonrisa",
        "email": "Correo electrónico",
        "password": "Contraseña",
        "login_error": "El espacio de trabajo, el correo o la contraseña no son correctos.",
        "home": "Inicio",
        "hello": "Hola",
        "role": "Rol",
        "business": "Empresa",
        "role_admin": "Administración",
        "role_supervisor": "Supervisión",
        "role_agent": "Agente",
        "app_soon": "El escritorio del agente llegará pronto. Mientras tanto:",
        "link_simulator": "Simulador de clientes",
        "link_simulator_desc": "Haz de cliente por teléfono, SMS, WhatsApp, correo o chat web.",
        "link_docs": "Referencia de la API",
        "link_docs_desc": "Todos los puntos de la API v1, con ejemplos.",
        "csrf_title": "Este formulario ha caducado",
        "csrf_body": "Por seguridad no hemos hecho nada. Recarga la página y vuelve a intentarlo.",
        "back": "Volver",
        "disabled_title": "El acceso web está desactivado",
        "disabled_body": "El servidor no tiene clave secreta. Define CENTRALITA_SECRET_KEY "
        '(por ejemplo con: python -c "import secrets; print(secrets.token_urlsafe(32))") '
        "y reinicia.",
        "sim_title": "Simulador",
        "sim_lead": "Haz de cliente. Escribe como si llamaras o enviaras un mensaje: en las "
        "llamadas, el texto escrito hace de voz. Los mensajes entran por el mismo camino que "
        "los de los proveedores reales.",
        "sim_tenant": "Empresa de demostración",
        "sim_switch": "Cambiar",
        "sim_channel": "Canal",
        "ch_voice": "Llamada",
        "ch_sms": "SMS",
        "ch_whatsapp": "WhatsApp",
        "ch_email": "Correo",
        "ch_webchat": "Chat web",
        "id_phone": "Tu número de teléfono",
        "id_whatsapp": "Tu WhatsApp (número con prefijo)",
        "id_email": "Tu correo electrónico",
        "id_web": "Tu identificador de visitante web",
        "sim_name": "Tu nombre",
        "sim_new_customer": "Otro cliente",
        "sim_placeholder": "Escribe un mensaje…",
        "sim_placeholder_voice": "Di algo (escríbelo)…",
        "sim_send": "Enviar",
        "sim_sending": "Enviando…",
        "sim_empty": "Aún no hay mensajes. Escribe el primero.",
        "sim_stored": "Conversación guardada",
        "sim_none": "Aún no hay conversación para este cliente.",
        "conv_id": "Id.",
        "conv_status": "Estado",
        "conv_owner": "Responsable",
        "conv_contact": "Contacto",
        "conv_messages": "Mensajes",
        "conv_open": "abierta",
        "conv_pending": "pendiente",
        "conv_closed": "cerrada",
        "owner_bot": "la recepcionista virtual",
        "owner_queue": "una cola",
        "owner_agent": "un agente",
        "sim_api": "Ver en la API",
        "sim_api_note": "La API necesita autenticarse: una clave en la cabecera "
        "Authorization: Bearer … (créala con «centralita user api-key EMPRESA») o una sesión "
        "web de un usuario de esa empresa.",
        "sim_no_tenants": "Ninguna empresa tiene el simulador activado. Crea la demo o añade "
        "a una empresa un canal con el proveedor «simulator».",
        "sim_no_js": "El simulador necesita JavaScript.",
        "author_contact": "Tú",
        "author_bot": "Recepcionista",
        "author_agent": "Agente",
        "author_system": "Sistema",
        "st_received": "recibido",
        "st_queued": "en cola",
        "st_sent": "enviado",
        "st_delivered": "entregado",
        "st_read": "leído",
        "st_failed": "fallido",
        "error": "Error",
        "live": "En directo",
    },
    "en": {
        "language": "Language",
        "sign_in": "Sign in",
        "sign_out": "Sign out",
        "login_title": "Sign in to Centralita",
        "login_lead": "Open your business's workspace.",
        "workspace": "Workspace",
        "workspace_hint": "Your business's short name, e.g. clinica-sonrisa",
        "email": "Email",
        "password": "Password",
        "login_error": "The workspace, email or password is not correct.",
        "home": "Home",
        "hello": "Hello",
        "role": "Role",
        "business": "Business",
        "role_admin": "Administrator",
        "role_supervisor": "Supervisor",
        "role_agent": "Agent",
        "app_soon": "The agent desktop is coming soon. Meanwhile:",
        "link_simulator": "Customer simulator",
        "link_simulator_desc": "Play a customer on phone, SMS, WhatsApp, email or web chat.",
        "link_docs": "API reference",
        "link_docs_desc": "Every v1 endpoint, with examples.",
        "csrf_title": "This form has expired",
        "csrf_body": "For your safety nothing was done. Reload the page and try again.",
        "back": "Go back",
        "disabled_title": "Web sign-in is disabled",
        "disabled_body": "The server has no secret key. Set CENTRALITA_SECRET_KEY "
        '(for example: python -c "import secrets; print(secrets.token_urlsafe(32))") '
        "and restart.",
        "sim_title": "Simulator",
        "sim_lead": "Play a customer. Write as if you were calling or messaging: on calls, "
        "typed text stands for speech. Messages take the same path as real providers' ones.",
        "sim_tenant": "Demo business",
        "sim_switch": "Switch",
        "sim_channel": "Channel",
        "ch_voice": "Phone call",
        "ch_sms": "SMS",
        "ch_whatsapp": "WhatsApp",
        "ch_email": "Email",
        "ch_webchat": "Web chat",
        "id_phone": "Your phone number",
        "id_whatsapp": "Your WhatsApp (international number)",
        "id_email": "Your email address",
        "id_web": "Your web visitor id",
        "sim_name": "Your name",
        "sim_new_customer": "Another customer",
        "sim_placeholder": "Type a message…",
        "sim_placeholder_voice": "Say something (type it)…",
        "sim_send": "Send",
        "sim_sending": "Sending…",
        "sim_empty": "No messages yet. Write the first one.",
        "sim_stored": "Stored conversation",
        "sim_none": "No conversation for this customer yet.",
        "conv_id": "Id",
        "conv_status": "Status",
        "conv_owner": "Owner",
        "conv_contact": "Contact",
        "conv_messages": "Messages",
        "conv_open": "open",
        "conv_pending": "pending",
        "conv_closed": "closed",
        "owner_bot": "the virtual receptionist",
        "owner_queue": "a queue",
        "owner_agent": "an agent",
        "sim_api": "Open in the API",
        "sim_api_note": "The API needs authentication: a key in the Authorization: Bearer … "
        "header (create one with “centralita user api-key TENANT”) or a web session of a user "
        "of that business.",
        "sim_no_tenants": "No business has the simulator enabled. Create the demo, or give a "
        "business a channel account with the “simulator” provider.",
        "sim_no_js": "The simulator needs JavaScript.",
        "author_contact": "You",
        "author_bot": "Receptionist",
        "author_agent": "Agent",
        "author_system": "System",
        "st_received": "received",
        "st_queued": "queued",
        "st_sent": "sent",
        "st_delivered": "delivered",
        "st_read": "read",
        "st_failed": "failed",
        "error": "Error",
        "live": "Live",
    },
}


def strings(lang: str) -> dict[str, str]:
    return STRINGS.get(lang, STRINGS[DEFAULT_LANGUAGE])
