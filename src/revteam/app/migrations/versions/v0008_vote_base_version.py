"""A proposal's votes keep the agreed version they were given on: a rebase no longer deletes them.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column(
        "proposal_votes",
        sa.Column("base_version", sa.Integer(), nullable=False, server_default="0"),
    )
    # Until now a rebase deleted the votes, so every vote kept was given on its proposal's base.
    op.execute(
        "UPDATE proposal_votes SET base_version = (SELECT p.base_version FROM metric_proposals p "
        "WHERE p.id = proposal_votes.proposal_id) WHERE EXISTS (SELECT 1 FROM metric_proposals p "
        "WHERE p.id = proposal_votes.proposal_id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("proposal_votes") as batch:
        batch.drop_column("base_version")
