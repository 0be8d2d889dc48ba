-- renewal_decisions by due_at (period; period only): renewals_due
SELECT
  "t22"."period",
  COUNT(*) AS "renewals_due"
FROM (
  SELECT
    "t21"."due_at",
    CAST(DATE_TRUNC('MONTH', "t21"."due_at") AS DATE) AS "period"
  FROM (
    SELECT
      "t10"."opportunity_id",
      "t10"."account_id",
      "t10"."person_id",
      "t10"."owner_id",
      "t10"."type",
      "t17"."_a_ch" AS "channel",
      "t17"."_a_cp" AS "campaign_id",
      "t10"."due_at",
      "t10"."closed_at",
      COALESCE("t10"."is_won", FALSE) AS "renewed",
      CAST("t18"."_prior" AS DOUBLE PRECISION) IS NOT NULL AS "has_prior",
      CAST("t18"."_prior" AS DOUBLE PRECISION) AS "prior_amount",
      CASE
        WHEN COALESCE("t10"."is_won", FALSE)
        THEN COALESCE(CAST("t10"."amount" AS DOUBLE PRECISION), 0.0)
        ELSE 0.0
      END AS "renewal_amount",
      CASE
        WHEN CAST("t18"."_prior" AS DOUBLE PRECISION) IS NOT NULL
        THEN LEAST(
          CASE
            WHEN COALESCE("t10"."is_won", FALSE)
            THEN COALESCE(CAST("t10"."amount" AS DOUBLE PRECISION), 0.0)
            ELSE 0.0
          END,
          CAST("t18"."_prior" AS DOUBLE PRECISION)
        )
        ELSE 0.0
      END AS "kept_amount",
      CASE
        WHEN COALESCE("t10"."is_won", FALSE)
        THEN COALESCE(CAST("t10"."amount" AS DOUBLE PRECISION), 0.0)
        ELSE 0.0
      END + CASE
        WHEN COALESCE("t10"."is_won", FALSE)
        THEN COALESCE(CAST("t20"."_ups" AS DOUBLE PRECISION), 0.0)
        ELSE 0.0
      END AS "net_amount"
    FROM (
      SELECT
        "t0"."opportunity_id",
        "t0"."account_id",
        "t0"."person_id",
        "t0"."name",
        "t0"."type",
        "t0"."channel",
        "t0"."campaign_id",
        "t0"."owner_id",
        "t0"."created_at",
        "t0"."expected_close_date",
        "t0"."closed_at",
        "t0"."stage",
        "t0"."is_closed",
        "t0"."is_won",
        "t0"."amount",
        "t0"."probability",
        "t0"."lost_reason",
        "t0"."forecast_category",
        COALESCE(CAST("t0"."expected_close_date" AS TIMESTAMP), "t0"."closed_at") AS "due_at"
      FROM "opportunities" AS "t0"
      WHERE
        "t0"."closed_at" IS NOT NULL
        AND "t0"."closed_at" <= CAST('2026-06-30T23:59:59.999999' AS TIMESTAMP)
        AND "t0"."account_id" IS NOT NULL
        AND "t0"."type" = 'renewal'
        AND "t0"."is_closed"
    ) AS "t10"
    LEFT OUTER JOIN (
      SELECT
        "t13"."opportunity_id" AS "_p_id",
        (
          ARRAY_AGG("t13"."_c_amt" ORDER BY "t13"."_c_at" DESC NULLS LAST) FILTER(WHERE
            "t13"."_c_at" IS NOT NULL)
        )[1] AS "_prior"
      FROM (
        SELECT
          "t7"."opportunity_id",
          "t7"."account_id",
          "t7"."created_at",
          "t8"."_c_acc",
          "t8"."_c_at",
          "t8"."_c_amt"
        FROM (
          SELECT
            "t0"."opportunity_id",
            "t0"."account_id",
            "t0"."created_at"
          FROM "opportunities" AS "t0"
          WHERE
            "t0"."closed_at" IS NOT NULL
            AND "t0"."closed_at" <= CAST('2026-06-30T23:59:59.999999' AS TIMESTAMP)
            AND "t0"."account_id" IS NOT NULL
            AND "t0"."type" = 'renewal'
            AND "t0"."is_closed"
        ) AS "t7"
        INNER JOIN (
          SELECT
            "t0"."account_id" AS "_c_acc",
            "t0"."closed_at" AS "_c_at",
            "t0"."amount" AS "_c_amt"
          FROM "opportunities" AS "t0"
          WHERE
            "t0"."closed_at" IS NOT NULL
            AND "t0"."closed_at" <= CAST('2026-06-30T23:59:59.999999' AS TIMESTAMP)
            AND "t0"."account_id" IS NOT NULL
            AND "t0"."is_won"
            AND "t0"."type" IN ('new_business', 'renewal')
        ) AS "t8"
          ON "t7"."account_id" = "t8"."_c_acc" AND "t8"."_c_at" < "t7"."created_at"
      ) AS "t13"
      GROUP BY
        1
    ) AS "t18"
      ON "t10"."opportunity_id" = "t18"."_p_id"
    LEFT OUTER JOIN (
      SELECT
        "t14"."opportunity_id" AS "_s_id",
        SUM("t14"."_u_amt") AS "_ups"
      FROM (
        SELECT
          "t11"."opportunity_id",
          "t11"."account_id",
          "t11"."due_at",
          "t9"."_u_acc",
          "t9"."_u_at",
          "t9"."_u_amt"
        FROM (
          SELECT
            "t0"."opportunity_id",
            "t0"."account_id",
            COALESCE(CAST("t0"."expected_close_date" AS TIMESTAMP), "t0"."closed_at") AS "due_at"
          FROM "opportunities" AS "t0"
          WHERE
            "t0"."closed_at" IS NOT NULL
            AND "t0"."closed_at" <= CAST('2026-06-30T23:59:59.999999' AS TIMESTAMP)
            AND "t0"."account_id" IS NOT NULL
            AND "t0"."type" = 'renewal'
            AND "t0"."is_closed"
        ) AS "t11"
        INNER JOIN (
          SELECT
            "t0"."account_id" AS "_u_acc",
            "t0"."closed_at" AS "_u_at",
            "t0"."amount" AS "_u_amt"
          FROM "opportunities" AS "t0"
          WHERE
            "t0"."closed_at" IS NOT NULL
            AND "t0"."closed_at" <= CAST('2026-06-30T23:59:59.999999' AS TIMESTAMP)
            AND "t0"."account_id" IS NOT NULL
            AND "t0"."is_won"
            AND "t0"."type" = 'upsell'
        ) AS "t9"
          ON "t11"."account_id" = "t9"."_u_acc"
          AND "t9"."_u_at" <= "t11"."due_at"
          AND "t9"."_u_at" > (
            "t11"."due_at" - INTERVAL '365 DAY'
          )
      ) AS "t14"
      GROUP BY
        1
    ) AS "t20"
      ON "t10"."opportunity_id" = "t20"."_s_id"
    LEFT OUTER JOIN (
      SELECT
        "t12"."account_id" AS "_a_acc",
        "t12"."channel" AS "_a_ch",
        "t12"."campaign_id" AS "_a_cp"
      FROM (
        SELECT
          "t1"."opportunity_id",
          "t1"."account_id",
          "t1"."person_id",
          "t1"."name",
          "t1"."type",
          "t1"."channel",
          "t1"."campaign_id",
          "t1"."owner_id",
          "t1"."created_at",
          "t1"."expected_close_date",
          "t1"."closed_at",
          "t1"."stage",
          "t1"."is_closed",
          "t1"."is_won",
          "t1"."amount",
          "t1"."probability",
          "t1"."lost_reason",
          "t1"."forecast_category",
          ROW_NUMBER() OVER (
            PARTITION BY "t1"."account_id"
            ORDER BY "t1"."closed_at" ASC, "t1"."opportunity_id" ASC
            ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
          ) - 1 AS "_rank"
        FROM (
          SELECT
            *
          FROM "opportunities" AS "t0"
          WHERE
            "t0"."closed_at" IS NOT NULL
            AND "t0"."closed_at" <= CAST('2026-06-30T23:59:59.999999' AS TIMESTAMP)
            AND "t0"."account_id" IS NOT NULL
            AND "t0"."is_won"
        ) AS "t1"
      ) AS "t12"
      WHERE
        "t12"."_rank" = 0
    ) AS "t17"
      ON "t10"."account_id" = "t17"."_a_acc"
  ) AS "t21"
  WHERE
    "t21"."due_at" IS NOT NULL
    AND "t21"."due_at" >= CAST('2025-01-01T00:00:00' AS TIMESTAMP)
    AND "t21"."due_at" < CAST('2026-01-01T00:00:00' AS TIMESTAMP)
) AS "t22"
GROUP BY
  1;
