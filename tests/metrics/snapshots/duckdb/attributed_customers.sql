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
    AND "t0"."converted_at" >= MAKE_TIMESTAMP(2025, 1, 1, 0, 0, 0.0)
    AND "t0"."converted_at" < MAKE_TIMESTAMP(2026, 1, 1, 0, 0, 0.0)
) AS "t1"
GROUP BY
  1;
