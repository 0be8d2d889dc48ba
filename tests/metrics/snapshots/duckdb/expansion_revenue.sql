-- opportunities by closed_at (period; period only): expansion_revenue, expansion_revenue__n
SELECT
  "t1"."period",
  SUM("t1"."amount") FILTER(WHERE
    (
      "t1"."is_won" = TRUE
    ) AND (
      "t1"."type" = 'upsell'
    )) AS "expansion_revenue",
  COUNT(*) FILTER(WHERE
    (
      "t1"."is_won" = TRUE
    ) AND (
      "t1"."type" = 'upsell'
    )) AS "expansion_revenue__n"
FROM (
  SELECT
    "t0"."type",
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
