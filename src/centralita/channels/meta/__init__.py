"""Meta's WhatsApp Business Cloud API."""
