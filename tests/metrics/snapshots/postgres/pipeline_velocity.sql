-- opportunities by closed_at (period; period only): avg_deal_size__n, avg_deal_size__sum, win_rate__numerator, win_rate__denominator, sales_cycle_days__n, sales_cycle_days
SELECT
  "t1"."period",
  COUNT("t1"."amount") FILTER(WHERE
    "t1"."is_won" = TRUE) AS "avg_deal_size__n",
  SUM("t1"."amount") FILTER(WHERE
    "t1"."is_won" = TRUE) AS "avg_deal_size__sum",
  COUNT(*) FILTER(WHERE
    (
      "t1"."is_closed" = TRUE
    ) AND (
      "t1"."is_won" = TRUE
    )) AS "win_rate__numerator",
  COUNT(*) FILTER(WHERE
    "t1"."is_closed" = TRUE) AS "win_rate__denominator",
  COUNT(
    CAST(EXTRACT('epoch' FROM "t1"."closed_at") - EXTRACT('epoch' FROM "t1"."created_at") AS DOUBLE PRECISION) / 86400.0
  ) FILTER(WHERE
    "t1"."is_won" = TRUE) AS "sales_cycle_days__n",
  PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY
    CASE
      WHEN "t1"."is_won" = TRUE
      THEN CAST(EXTRACT('epoch' FROM "t1"."closed_at") - EXTRACT('epoch' FROM "t1"."created_at") AS DOUBLE PRECISION) / 86400.0
      ELSE CAST(NULL AS DOUBLE PRECISION)
    END) AS "sales_cycle_days"
FROM (
  SELECT
    "t0"."created_at",
    "t0"."closed_at",
    "t0"."is_closed",
    "t0"."is_won",
    "t0"."amount",
    CAST(DATE_TRUNC('MONTH', "t0"."closed_at") AS DATE) AS "period"
  FROM "opportunities" AS "t0"
  WHERE
    "t0"."closed_at" IS NOT NULL
    AND "t0"."closed_at" >= CAST('2025-01-01T00:00:00' AS TIMESTAMP)
    AND "t0"."closed_at" < CAST('2026-01-01T00:00:00' AS TIMESTAMP)
) AS "t1"
GROUP BY
  1;

-- opportunities by created_at (period; period only): opportunities_created
SELECT
  "t1"."period",
  COUNT(*) AS "opportunities_created"
FROM (
  SELECT
    "t0"."created_at",
    CAST(DATE_TRUNC('MONTH', "t0"."created_at") AS DATE) AS "period"
  FROM "opportunities" AS "t0"
  WHERE
    "t0"."created_at" IS NOT NULL
    AND "t0"."created_at" >= CAST('2025-01-01T00:00:00' AS TIMESTAMP)
    AND "t0"."created_at" < CAST('2026-01-01T00:00:00' AS TIMESTAMP)
) AS "t1"
GROUP BY
  1;
