"""Persistence for atlas-access: SQLModel tables, repositories, units of work, encryption and migrations.

    storage.engine      make_engine(url): SQLite (WAL, busy_timeout, foreign keys, BEGIN IMMEDIATE) or PostgreSQL
    storage.store       SqlStore(engine, secret_box): access.ports.Store; unit_of_work(), ping(), check_secret_key()
    storage.outbox      SqlOutbox(engine, clock): access.ports.Outbox, the Slack messages waiting to be sent again
    storage.crypto      SecretBox(key): Fernet for the literal Atlas secrets kept in the database
    storage.migrations  upgrade(url) (Alembic, head), create_all(engine) for quick in-memory use
    storage.testing     fresh_postgres_url(), sqlite_url(dir), truncate_all(engine) for tests

Errors raised on purpose (others are SQLAlchemy's):

    access.errors.StoreUnavailable    the database is away (storage.errors.DatabaseUnavailable: also an
                                      SQLAlchemy OperationalError, for callers that still catch those)
    access.ports.StaleWrite           a compare-and-set save found the row changed since it was read
    access.ports.Duplicate            an add found a row holding one of its unique keys
    access.ports.MissingSecret        upsert(keep_secrets=True) had no stored secret to keep (a ValueError)
    access.errors.SecretKeyError      ATLAS_ACCESS_SECRET_KEY missing, malformed, or not the key the data has
    (the last two importable from storage.config_repos and storage.crypto as before)
    storage.store.NestedUnitOfWork    a unit of work opened inside another on one thread, on SQLite
"""
