-- people by customer_at (period; period only): time_to_revenue_days__n, time_to_revenue_days
SELECT
  "t1"."period",
  COUNT(
    CAST(DATE_PART('epoch', "t1"."customer_at") - DATE_PART('epoch', "t1"."created_at") AS DOUBLE) / 86400.0
  ) AS "time_to_revenue_days__n",
  MEDIAN(
    CAST(DATE_PART('epoch', "t1"."customer_at") - DATE_PART('epoch', "t1"."created_at") AS DOUBLE) / 86400.0
  ) AS "time_to_revenue_days"
FROM (
  SELECT
    "t0"."created_at",
    "t0"."customer_at",
    CAST(DATE_TRUNC('MONTH', "t0"."customer_at") AS DATE) AS "period"
  FROM "people" AS "t0"
  WHERE
    "t0"."customer_at" IS NOT NULL
    AND "t0"."customer_at" >= TIMESTAMP_FROM_PARTS(2025, 1, 1, 0, 0, 0, 0)
    AND "t0"."customer_at" < TIMESTAMP_FROM_PARTS(2026, 1, 1, 0, 0, 0, 0)
) AS "t1"
GROUP BY
  1;
