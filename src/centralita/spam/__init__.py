"""Spam verdicts per conversation, tenant allow/block lists and agents' spam feedback."""
