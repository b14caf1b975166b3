"""The store: what must outlive a request (stored responses; files and batch jobs).

``database.Database`` owns the connection (embedded SQLite by default, PostgreSQL for
replicas) and applies the Alembic migrations in ``migrations/`` at start; ``tables`` declares
the schema; each repository module (``responses``...) is the one place that reads and writes
its tables. Database faults surface as ``StoreUnavailable`` (503), never as a 500.
"""
