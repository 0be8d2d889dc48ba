-- opportunities by closed_at (period; period only): median_deal_size__n, median_deal_size
SELECT
  "t1"."period",
  COUNT(IFF("t1"."is_won" = TRUE, "t1"."amount", NULL)) AS "median_deal_size__n",
  MEDIAN(IFF("t1"."is_won" = TRUE, CAST("t1"."amount" AS DOUBLE), CAST(NULL AS DOUBLE))) AS "median_deal_size"
FROM (
  SELECT
    "t0"."closed_at",
    "t0"."is_won",
    "t0"."amount",
    CAST(DATE_TRUNC('MONTH', "t0"."closed_at") AS DATE) AS "period"
  FROM "opportunities" AS "t0"
  WHERE
    "t0"."closed_at" IS NOT NULL
    AND "t0"."closed_at" >= TIMESTAMP_FROM_PARTS(2025, 1, 1, 0, 0, 0, 0)
    AND "t0"."closed_at" < TIMESTAMP_FROM_PARTS(2026, 1, 1, 0, 0, 0, 0)
) AS "t1"
GROUP BY
  1;
