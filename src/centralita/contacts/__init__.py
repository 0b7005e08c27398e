"""Contacts (CRM): people, their addresses on every channel, merges."""
