-- opportunities by closed_at (period; period only): median_deal_size__n, median_deal_size
SELECT
  "t1"."period",
  COUNT("t1"."amount") FILTER(WHERE
    "t1"."is_won" = TRUE) AS "median_deal_size__n",
  PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY
    CASE
      WHEN "t1"."is_won" = TRUE
      THEN CAST("t1"."amount" AS DOUBLE PRECISION)
      ELSE CAST(NULL AS DOUBLE PRECISION)
    END) AS "median_deal_size"
FROM (
  SELECT
    "t0"."closed_at",
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
