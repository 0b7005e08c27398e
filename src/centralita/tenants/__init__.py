"""Tenants: one business each, with its profile and configuration-as-code."""
