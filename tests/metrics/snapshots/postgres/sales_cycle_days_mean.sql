-- opportunities by closed_at (period; period only): sales_cycle_days_mean__n, sales_cycle_days_mean__sum
SELECT
  "t1"."period",
  COUNT(
    CAST(EXTRACT('epoch' FROM "t1"."closed_at") - EXTRACT('epoch' FROM "t1"."created_at") AS DOUBLE PRECISION) / 86400.0
  ) FILTER(WHERE
    "t1"."is_won" = TRUE) AS "sales_cycle_days_mean__n",
  SUM(
    CAST(EXTRACT('epoch' FROM "t1"."closed_at") - EXTRACT('epoch' FROM "t1"."created_at") AS DOUBLE PRECISION) / 86400.0
  ) FILTER(WHERE
    "t1"."is_won" = TRUE) AS "sales_cycle_days_mean__sum"
FROM (
  SELECT
    "t0"."created_at",
    "t0"."closed_at",
    "t0"."is_won",
    CAST(DATE_TRUNC('MONTH', "t0"."closed_at") AS DATE) AS "period"
  FROM "opportunities" AS "t0"
  WHERE
    "t0"."closed_at" IS NOT NULL
    AND "t0"."closed_at" >= CAST('2025-01-01T00:00:00' AS TIMESTAMP)
    AND "t0"."closed_at" < CAST('2026-01-01T00:00:00' AS TIMESTAMP)
) AS "t1"
GROUP BY
  1;
