-- costs by date (period; channel): total_cost, total_cost__n
SELECT
  "t8"."period",
  "t8"."_j0_channel" AS "channel",
  SUM("t8"."amount") AS "total_cost",
  COUNT(*) AS "total_cost__n"
FROM (
  SELECT
    "t7"."date",
    "t7"."campaign_id",
    "t7"."amount",
    "t7"."_j0_channel",
    CAST(DATE_TRUNC('MONTH', CAST("t7"."date" AS TIMESTAMP)) AS DATE) AS "period"
  FROM (
    SELECT
      "t6"."date",
      "t6"."campaign_id",
      "t6"."amount",
      "t6"."_j0_channel"
    FROM (
      SELECT
        "t4"."date",
        "t4"."campaign_id",
        "t4"."amount",
        "t5"."_j0_key",
        "t5"."_j0_channel"
      FROM (
        SELECT
          "t0"."date",
          "t0"."campaign_id",
          "t0"."amount"
        FROM "costs" AS "t0"
      ) AS "t4"
      LEFT OUTER JOIN (
        SELECT
          "t1"."campaign_id" AS "_j0_key",
          "t1"."channel" AS "_j0_channel"
        FROM "campaigns" AS "t1"
      ) AS "t5"
        ON "t4"."campaign_id" = "t5"."_j0_key"
    ) AS "t6"
  ) AS "t7"
  WHERE
    "t7"."date" IS NOT NULL
    AND "t7"."date" >= MAKE_DATE(2025, 1, 1)
    AND "t7"."date" < MAKE_DATE(2026, 1, 1)
    AND (
      "t7"."_j0_channel" IN ('email') OR (
        "t7"."_j0_channel" IS NULL
      )
    )
) AS "t8"
GROUP BY
  1,
  2;

-- opportunities by closed_at (period; channel): new_customers
SELECT
  "t3"."period",
  "t3"."channel",
  COUNT(*) FILTER(WHERE
    "t3"."is_first_win" = TRUE) AS "new_customers"
FROM (
  SELECT
    "t2"."opportunity_id",
    "t2"."account_id",
    "t2"."channel",
    "t2"."closed_at",
    "t2"."is_won",
    "t2"."is_first_win",
    CAST(DATE_TRUNC('MONTH', "t2"."closed_at") AS DATE) AS "period"
  FROM (
    SELECT
      "t1"."opportunity_id",
      "t1"."account_id",
      "t1"."channel",
      "t1"."closed_at",
      "t1"."is_won",
      COALESCE(
        "t1"."is_won"
        AND (
          "t1"."closed_at" IS NOT NULL
        )
        AND (
          "t1"."account_id" IS NOT NULL
        )
        AND (
          (
            ROW_NUMBER() OVER (
              PARTITION BY "t1"."account_id", "t1"."is_won"
              ORDER BY "t1"."closed_at" ASC, "t1"."opportunity_id" ASC
              ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
            ) - 1
          ) = 0
        ),
        FALSE
      ) AS "is_first_win"
    FROM (
      SELECT
        "t0"."opportunity_id",
        "t0"."account_id",
        "t0"."channel",
        "t0"."closed_at",
        "t0"."is_won"
      FROM "opportunities" AS "t0"
    ) AS "t1"
  ) AS "t2"
  WHERE
    "t2"."closed_at" IS NOT NULL
    AND "t2"."closed_at" >= CAST('2025-01-01T00:00:00' AS TIMESTAMP)
    AND "t2"."closed_at" < CAST('2026-01-01T00:00:00' AS TIMESTAMP)
    AND (
      "t2"."channel" IN ('email') OR (
        "t2"."channel" IS NULL
      )
    )
) AS "t3"
GROUP BY
  1,
  2;
