-- opportunities by closed_at (period; period only): median_deal_size__n, median_deal_size
SELECT
  "t1"."period",
  COUNT("t1"."amount") FILTER(WHERE
    "t1"."is_won" = TRUE) AS "median_deal_size__n",
  QUANTILE_CONT(
    CASE
      WHEN "t1"."is_won" = TRUE
      THEN CAST("t1"."amount" AS DOUBLE)
      ELSE CAST(NULL AS DOUBLE)
    END,
    0.5
  ) AS "median_deal_size"
FROM (
  SELECT
    "t0"."closed_at",
    "t0"."is_won",
    "t0"."amount",
    CAST(DATE_TRUNC('MONTH', "t0"."closed_at") AS DATE) AS "period"
  FROM "opportunities" AS "t0"
  WHERE
    "t0"."closed_at" IS NOT NULL
    AND "t0"."closed_at" >= MAKE_TIMESTAMP(2025, 1, 1, 0, 0, 0.0)
    AND "t0"."closed_at" < MAKE_TIMESTAMP(2026, 1, 1, 0, 0, 0.0)
) AS "t1"
GROUP BY
  1;
