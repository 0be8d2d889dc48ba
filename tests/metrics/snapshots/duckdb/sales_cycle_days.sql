-- opportunities by closed_at (period; period only): sales_cycle_days__n, sales_cycle_days
SELECT
  "t1"."period",
  COUNT(
    CAST(EPOCH(CAST("t1"."closed_at" AS TIMESTAMP)) - EPOCH(CAST("t1"."created_at" AS TIMESTAMP)) AS DOUBLE) / 86400.0
  ) FILTER(WHERE
    "t1"."is_won" = TRUE) AS "sales_cycle_days__n",
  QUANTILE_CONT(
    CASE
      WHEN "t1"."is_won" = TRUE
      THEN CAST(EPOCH(CAST("t1"."closed_at" AS TIMESTAMP)) - EPOCH(CAST("t1"."created_at" AS TIMESTAMP)) AS DOUBLE) / 86400.0
      ELSE CAST(NULL AS DOUBLE)
    END,
    0.5
  ) AS "sales_cycle_days"
FROM (
  SELECT
    "t0"."created_at",
    "t0"."closed_at",
    "t0"."is_won",
    CAST(DATE_TRUNC('MONTH', "t0"."closed_at") AS DATE) AS "period"
  FROM "opportunities" AS "t0"
  WHERE
    "t0"."closed_at" IS NOT NULL
    AND "t0"."closed_at" >= MAKE_TIMESTAMP(2025, 1, 1, 0, 0, 0.0)
    AND "t0"."closed_at" < MAKE_TIMESTAMP(2026, 1, 1, 0, 0, 0.0)
) AS "t1"
GROUP BY
  1;
