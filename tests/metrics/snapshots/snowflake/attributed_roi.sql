-- costs by date (period; period only): marketing_cost, marketing_cost__n
SELECT
  "t1"."period",
  SUM(IFF("t1"."team" = 'marketing', "t1"."amount", NULL)) AS "marketing_cost",
  COUNT_IF("t1"."team" = 'marketing') AS "marketing_cost__n"
FROM (
  SELECT
    "t0"."date",
    "t0"."team",
    "t0"."amount",
    CAST(DATE_TRUNC('MONTH', CAST("t0"."date" AS TIMESTAMP)) AS DATE) AS "period"
  FROM "costs" AS "t0"
  WHERE
    "t0"."date" IS NOT NULL
    AND "t0"."date" >= DATE_FROM_PARTS(2025, 1, 1)
    AND "t0"."date" < DATE_FROM_PARTS(2026, 1, 1)
) AS "t1"
GROUP BY
  1;

-- attribution_credits by converted_at (period; period only): attributed_revenue, attributed_revenue__n
SELECT
  "t1"."period",
  SUM(IFF("t1"."conversion" = 'won', "t1"."amount", NULL)) AS "attributed_revenue",
  COUNT_IF("t1"."conversion" = 'won') AS "attributed_revenue__n"
FROM (
  SELECT
    "t0"."conversion",
    "t0"."converted_at",
    "t0"."amount",
    CAST(DATE_TRUNC('MONTH', "t0"."converted_at") AS DATE) AS "period"
  FROM "attribution_credits__linear__20260630T235959999999" AS "t0"
  WHERE
    "t0"."converted_at" IS NOT NULL
    AND "t0"."converted_at" >= TIMESTAMP_FROM_PARTS(2025, 1, 1, 0, 0, 0, 0)
    AND "t0"."converted_at" < TIMESTAMP_FROM_PARTS(2026, 1, 1, 0, 0, 0, 0)
) AS "t1"
GROUP BY
  1;
