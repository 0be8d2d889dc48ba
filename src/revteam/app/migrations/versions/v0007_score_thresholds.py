"""MQL thresholds on the lead score, agreed by the teams that own its target KPI.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "score_thresholds",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("target", sa.String(64), nullable=False),
        sa.Column("objective", sa.String(12), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("needs", sa.String(200), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(320), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decision", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_score_thresholds")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_score_thresholds_status"), "score_thresholds", ["status"])
    op.create_table(
        "score_threshold_votes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("threshold_id", sa.Integer(), nullable=False),
        sa.Column("voter", sa.String(320), nullable=False),
        sa.Column("team", sa.String(40), nullable=False),
        sa.Column("vote", sa.String(10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_score_threshold_votes")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_score_threshold_votes_threshold_id"), "score_threshold_votes", ["threshold_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_score_threshold_votes_threshold_id"), table_name="score_threshold_votes")
    op.drop_table("score_threshold_votes")
    op.drop_index(op.f("ix_score_thresholds_status"), table_name="score_thresholds")
    op.drop_table("score_thresholds")
