"""Alembic environment: run by :func:`revteam.app.state.upgrade` on its own connection.

There is no ``alembic.ini``: the connection comes from ``config.attributes["connection"]``, so
migrations always run on the engine that :class:`revteam.storage.AppDatabase` configured.
"""

from __future__ import annotations

from alembic import context

from revteam.app.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("Run migrations with `revteam db upgrade`, not the alembic command.")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies the table
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
