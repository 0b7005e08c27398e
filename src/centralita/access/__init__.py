"""Access: users and roles inside a tenant, web sessions, API keys."""
