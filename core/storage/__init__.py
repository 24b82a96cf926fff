"""Storage: SQLAlchemy models, database setup and migrations (SQLite default, PostgreSQL)."""
