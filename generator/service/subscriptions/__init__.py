"""Self-service subscribers and the delivery ledger: personal data in a database (SQLite or PostgreSQL), never in Git.

`models` are the tables, `migrations` the Alembic history that creates and changes them, `store` the one
place that reads and writes them, `tokens` the signed links (confirm, unsubscribe) sent to subscribers.
"""
