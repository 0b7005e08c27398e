"""Conversations, interactions and messages; ``receive_inbound`` for every channel."""
