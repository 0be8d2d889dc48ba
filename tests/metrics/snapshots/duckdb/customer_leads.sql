-- people by customer_at (period; period only): customer_leads
SELECT
  "t1"."period",
  COUNT(*) AS "customer_leads"
FROM (
  SELECT
    "t0"."customer_at",
    CAST(DATE_TRUNC('MONTH', "t0"."customer_at") AS DATE) AS "period"
  FROM "people" AS "t0"
  WHERE
    "t0"."customer_at" IS NOT NULL
    AND "t0"."customer_at" >= MAKE_TIMESTAMP(2025, 1, 1, 0, 0, 0.0)
    AND "t0"."customer_at" < MAKE_TIMESTAMP(2026, 1, 1, 0, 0, 0.0)
) AS "t1"
GROUP BY
  1;
