-- orders by ordered_at (period; period only): recognized_revenue, recognized_revenue__n
SELECT
  "t1"."period",
  SUM("t1"."amount") AS "recognized_revenue",
  COUNT(*) AS "recognized_revenue__n"
FROM (
  SELECT
    "t0"."ordered_at",
    "t0"."amount",
    CAST(DATE_TRUNC('MONTH', "t0"."ordered_at") AS DATE) AS "period"
  FROM "orders" AS "t0"
  WHERE
    "t0"."ordered_at" IS NOT NULL
    AND "t0"."ordered_at" >= MAKE_TIMESTAMP(2025, 1, 1, 0, 0, 0.0)
    AND "t0"."ordered_at" < MAKE_TIMESTAMP(2026, 1, 1, 0, 0, 0.0)
) AS "t1"
GROUP BY
  1;
