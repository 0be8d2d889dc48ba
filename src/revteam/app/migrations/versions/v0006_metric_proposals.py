"""Metric definitions agreed by both teams: proposals, votes and approved versions.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "metric_proposals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("metric", sa.String(64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(320), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decision", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metric_proposals")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_metric_proposals_metric"), "metric_proposals", ["metric"])
    op.create_index(op.f("ix_metric_proposals_status"), "metric_proposals", ["status"])
    op.create_table(
        "proposal_votes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("voter", sa.String(320), nullable=False),
        sa.Column("team", sa.String(40), nullable=False),
        sa.Column("vote", sa.String(10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposal_votes")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_proposal_votes_proposal_id"), "proposal_votes", ["proposal_id"])
    op.create_table(
        "metric_versions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("metric", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("proposed_by", sa.String(320), nullable=False),
        sa.Column("approved_by", sa.String(1000), nullable=False),
        sa.Column("approved_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metric_versions")),
        sa.UniqueConstraint("metric", "version", name=op.f("uq_metric_versions_metric")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_metric_versions_metric"), "metric_versions", ["metric"])
    op.create_index(op.f("ix_metric_versions_approved_at"), "metric_versions", ["approved_at"])


def downgrade() -> None:
    for index, table in (
        ("ix_metric_versions_approved_at", "metric_versions"),
        ("ix_metric_versions_metric", "metric_versions"),
        ("ix_proposal_votes_proposal_id", "proposal_votes"),
        ("ix_metric_proposals_status", "metric_proposals"),
        ("ix_metric_proposals_metric", "metric_proposals"),
    ):
        op.drop_index(op.f(index), table_name=table)
    op.drop_table("metric_versions")
    op.drop_table("proposal_votes")
    op.drop_table("metric_proposals")
