"""Action items of the joint revenue review.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "action_items",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("owner", sa.String(320), nullable=False),
        sa.Column("team", sa.String(40), nullable=False),
        sa.Column("due", sa.Date(), nullable=True),
        sa.Column("metric", sa.String(64), nullable=True),
        sa.Column("segment", sa.String(500), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(320), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("closed_by", sa.String(320), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_items")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_action_items_owner"), "action_items", ["owner"])
    op.create_index(op.f("ix_action_items_status"), "action_items", ["status"])


def downgrade() -> None:
    op.drop_index(op.f("ix_action_items_status"), table_name="action_items")
    op.drop_index(op.f("ix_action_items_owner"), table_name="action_items")
    op.drop_table("action_items")
