"""Storage: the SQLAlchemy base, engine factory and migrations."""
