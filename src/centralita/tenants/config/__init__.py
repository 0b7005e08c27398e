"""Tenant configuration as code: one YAML document describes one tenant.

- ``schema``: the document's pydantic models and its JSON Schema;
- ``checks``: cross-field rules (references, uniqueness, phone numbers) run after the schema;
- ``loader``: YAML text to a validated ``TenantDocument``, errors naming line and field;
- ``apply``: idempotent, declarative upsert of a document into the database;
- ``export``: the database back into a document (and YAML).
"""
