"""Central storage: SQLAlchemy Core tables, the engine with its transaction rules, migrations."""
