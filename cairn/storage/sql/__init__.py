"""The metadata store: SQLAlchemy tables, all of Cairn's SQL, and Alembic migrations."""
