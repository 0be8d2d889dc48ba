-- people by customer_at (period; period only): time_to_revenue_days__n, time_to_revenue_days
SELECT
  "t1"."period",
  COUNT(
    CAST(EXTRACT('epoch' FROM "t1"."customer_at") - EXTRACT('epoch' FROM "t1"."created_at") AS DOUBLE PRECISION) / 86400.0
  ) AS "time_to_revenue_days__n",
  PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY
    CAST(EXTRACT('epoch' FROM "t1"."customer_at") - EXTRACT('epoch' FROM "t1"."created_at") AS DOUBLE PRECISION) / 86400.0) AS "time_to_revenue_days"
FROM (
  SELECT
    "t0"."created_at",
    "t0"."customer_at",
    CAST(DATE_TRUNC('MONTH', "t0"."customer_at") AS DATE) AS "period"
  FROM "people" AS "t0"
  WHERE
    "t0"."customer_at" IS NOT NULL
    AND "t0"."customer_at" >= CAST('2025-01-01T00:00:00' AS TIMESTAMP)
    AND "t0"."customer_at" < CAST('2026-01-01T00:00:00' AS TIMESTAMP)
) AS "t1"
GROUP BY
  1;
