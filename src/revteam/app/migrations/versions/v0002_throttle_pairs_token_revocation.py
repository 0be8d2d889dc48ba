"""Sign-in throttle per (account, address) pair; why a token was revoked.

- ``login_throttle`` gains ``account`` and ``address`` (an admin unlocks an account by its
  e-mail) and an index on ``last_failure_at`` (stale rows are purged by it). The old
  per-account rows (``user:<email>``) locked an account from every address, the weakness this
  revision removes, so they are dropped rather than carried over.
- ``api_tokens`` gains ``revoked_reason``. Tokens that the old rules let outlive their user's
  credentials are revoked now: those of disabled users (re-enabling would have revived them)
  and those created before their user's last password change or reset.

Revision ID: 0002
Revises: 0001
Create Date: 2025-12-02
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute("DELETE FROM login_throttle")
    with op.batch_alter_table("login_throttle") as batch:
        batch.add_column(sa.Column("account", sa.String(320), nullable=True))
        batch.add_column(sa.Column("address", sa.String(64), nullable=True))
        batch.create_index(op.f("ix_login_throttle_account"), ["account"])
        batch.create_index(op.f("ix_login_throttle_last_failure_at"), ["last_failure_at"])
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("revoked_reason", sa.String(40), nullable=True))
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    bind = op.get_bind()
    bind.execute(
        sa.text(
            "UPDATE api_tokens SET revoked_at = :now, revoked_reason = 'user disabled' "
            "WHERE revoked_at IS NULL AND user_id IN (SELECT id FROM users WHERE is_active = :no)"
        ),
        {"now": now, "no": False},
    )
    bind.execute(
        sa.text(
            "UPDATE api_tokens SET revoked_at = :now, revoked_reason = 'password changed' "
            "WHERE revoked_at IS NULL AND created_at < (SELECT password_changed_at FROM users "
            "WHERE users.id = api_tokens.user_id)"
        ),
        {"now": now},
    )


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("revoked_reason")
    op.execute("DELETE FROM login_throttle")
    with op.batch_alter_table("login_throttle") as batch:
        batch.drop_index(op.f("ix_login_throttle_last_failure_at"))
        batch.drop_index(op.f("ix_login_throttle_account"))
        batch.drop_column("address")
        batch.drop_column("account")
