-- people by sql_at (period; period only): sqls
SELECT
  "t1"."period",
  COUNT(*) AS "sqls"
FROM (
  SELECT
    "t0"."sql_at",
    CAST(DATE_TRUNC('MONTH', "t0"."sql_at") AS DATE) AS "period"
  FROM "people" AS "t0"
  WHERE
    "t0"."sql_at" IS NOT NULL
    AND "t0"."sql_at" >= TIMESTAMP_FROM_PARTS(2025, 1, 1, 0, 0, 0, 0)
    AND "t0"."sql_at" < TIMESTAMP_FROM_PARTS(2026, 1, 1, 0, 0, 0, 0)
) AS "t1"
GROUP BY
  1;
