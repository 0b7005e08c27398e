"""The built-in simulator channel: a newcomer plays a customer on any channel kind."""
