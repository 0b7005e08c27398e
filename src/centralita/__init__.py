"""Centralita: an AI virtual receptionist with an omnichannel contact center behind it."""

__version__ = "0.1.0"
