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

-- attribution_credits by converted_at (period; period only): attributed_customers, attributed_customers__n
SELECT
  "t1"."period",
  SUM("t1"."credit") FILTER(WHERE
    "t1"."conversion" = 'customer') AS "attributed_customers",
  COUNT(*) FILTER(WHERE
    "t1"."conversion" = 'customer') AS "attributed_customers__n"
FROM (
  SELECT
    "t0"."conversion",
    "t0"."converted_at",
    "t0"."credit",
    CAST(DATE_TRUNC('MONTH', "t0"."converted_at") AS DATE) AS "period"
  FROM "attribution_credits__linear__20260630T235959999999" AS "t0"
  WHERE
    "t0"."converted_at" IS NOT NULL
    AND "t0"."converted_at" >= CAST('2025-01-01T00:00:00' AS TIMESTAMP)
    AND "t0"."converted_at" < CAST('2026-01-01T00:00:00' AS TIMESTAMP)
) AS "t1"
GROUP BY
  1;
