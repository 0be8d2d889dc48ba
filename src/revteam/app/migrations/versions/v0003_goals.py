"""Goals: targets per metric, period and segment, with owners, and their change history.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "goals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("scope", sa.String(600), nullable=False),
        sa.Column("metric", sa.String(64), nullable=False),
        sa.Column("grain", sa.String(10), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("segment", sa.String(500), nullable=False),
        sa.Column("target", sa.Float(), nullable=False),
        sa.Column("stretch", sa.Float(), nullable=True),
        sa.Column("direction", sa.String(10), nullable=False),
        sa.Column("owners", sa.String(1000), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(320), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.String(320), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_goals")),
        sa.UniqueConstraint("scope", name=op.f("uq_goals_scope")),
        sqlite_autoincrement=True,  # a deleted goal's id is never given to another
    )
    op.create_index(op.f("ix_goals_metric"), "goals", ["metric"])
    op.create_table(
        "goal_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("goal_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(320), nullable=False),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_goal_changes")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_goal_changes_goal_id"), "goal_changes", ["goal_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_goal_changes_goal_id"), table_name="goal_changes")
    op.drop_table("goal_changes")
    op.drop_index(op.f("ix_goals_metric"), table_name="goals")
    op.drop_table("goals")
