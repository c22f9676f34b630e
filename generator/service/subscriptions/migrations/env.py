"""Alembic environment: runs on the connection `store.upgrade` hands over (no alembic.ini, no URL here)."""
from alembic import context

from generator.service.subscriptions.models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
