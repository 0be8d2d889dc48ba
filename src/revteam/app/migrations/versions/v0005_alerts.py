"""Alerts and subscriptions: rules, the conditions they found, delivery attempts, the lease.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "alert_rules",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("channels", sa.Text(), nullable=False),
        sa.Column("schedule", sa.String(40), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("owner", sa.String(320), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(320), nullable=False),
        sa.Column("checked_at", sa.DateTime(), nullable=True),
        sa.Column("checked_inputs", sa.String(100), nullable=True),
        sa.Column("last_due", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_rules")),
        sa.UniqueConstraint("name", name=op.f("uq_alert_rules_name")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "alert_conditions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(500), nullable=False),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("attachment_name", sa.String(200), nullable=True),
        sa.Column("attachment", sa.LargeBinary(), nullable=True),
        sa.Column("first_seen", sa.DateTime(), nullable=False),
        sa.Column("last_seen", sa.DateTime(), nullable=False),
        sa.Column("cleared_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["alert_rules.id"],
            name=op.f("fk_alert_conditions_rule_id_alert_rules"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_conditions")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_alert_conditions_rule_id"), "alert_conditions", ["rule_id"])
    op.create_index(op.f("ix_alert_conditions_cleared_at"), "alert_conditions", ["cleared_at"])
    op.create_table(
        "alert_deliveries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("condition_id", sa.Integer(), nullable=False),
        sa.Column("channel_no", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(400), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["alert_rules.id"],
            name=op.f("fk_alert_deliveries_rule_id_alert_rules"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["condition_id"],
            ["alert_conditions.id"],
            name=op.f("fk_alert_deliveries_condition_id_alert_conditions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_deliveries")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_alert_deliveries_rule_id"), "alert_deliveries", ["rule_id"])
    op.create_index(op.f("ix_alert_deliveries_condition_id"), "alert_deliveries", ["condition_id"])
    op.create_index(op.f("ix_alert_deliveries_status"), "alert_deliveries", ["status"])
    op.create_index(op.f("ix_alert_deliveries_at"), "alert_deliveries", ["at"])
    lease = op.create_table(
        "alert_lease",
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("acquired_at", sa.DateTime(), nullable=True),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_alert_lease")),
    )
    # The one row every runner locks (SELECT … FOR UPDATE): present from the start, so two
    # processes never race to insert it.
    op.bulk_insert(lease, [{"name": "runner", "holder": ""}])


def downgrade() -> None:
    op.drop_table("alert_lease")
    op.drop_index(op.f("ix_alert_deliveries_at"), table_name="alert_deliveries")
    op.drop_index(op.f("ix_alert_deliveries_status"), table_name="alert_deliveries")
    op.drop_index(op.f("ix_alert_deliveries_condition_id"), table_name="alert_deliveries")
    op.drop_index(op.f("ix_alert_deliveries_rule_id"), table_name="alert_deliveries")
    op.drop_table("alert_deliveries")
    op.drop_index(op.f("ix_alert_conditions_cleared_at"), table_name="alert_conditions")
    op.drop_index(op.f("ix_alert_conditions_rule_id"), table_name="alert_conditions")
    op.drop_table("alert_conditions")
    op.drop_table("alert_rules")
