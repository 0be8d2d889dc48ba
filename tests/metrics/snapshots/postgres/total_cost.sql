-- costs by date (period; period only): total_cost, total_cost__n
SELECT
  "t1"."period",
  SUM("t1"."amount") AS "total_cost",
  COUNT(*) AS "total_cost__n"
FROM (
  SELECT
    "t0"."date",
    "t0"."amount",
    CAST(DATE_TRUNC('MONTH', CAST("t0"."date" AS TIMESTAMP)) AS DATE) AS "period"
  FROM "costs" AS "t0"
  WHERE
    "t0"."date" IS NOT NULL
    AND "t0"."date" >= MAKE_DATE(2025, 1, 1)
    AND "t0"."date" < MAKE_DATE(2026, 1, 1)
) AS "t1"
GROUP BY
  1;
