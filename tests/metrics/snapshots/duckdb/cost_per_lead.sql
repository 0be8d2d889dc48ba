-- costs by date (period; period only): marketing_cost, marketing_cost__n
SELECT
  "t1"."period",
  SUM("t1"."amount") FILTER(WHERE
    "t1"."team" = 'marketing') AS "marketing_cost",
  COUNT(*) FILTER(WHERE
    "t1"."team" = 'marketing') AS "marketing_cost__n"
FROM (
  SELECT
    "t0"."date",
    "t0"."team",
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

-- people by created_at (period; period only): leads
SELECT
  "t1"."period",
  COUNT(*) AS "leads"
FROM (
  SELECT
    "t0"."created_at",
    CAST(DATE_TRUNC('MONTH', "t0"."created_at") AS DATE) AS "period"
  FROM "people" AS "t0"
  WHERE
    "t0"."created_at" IS NOT NULL
    AND "t0"."created_at" >= MAKE_TIMESTAMP(2025, 1, 1, 0, 0, 0.0)
    AND "t0"."created_at" < MAKE_TIMESTAMP(2026, 1, 1, 0, 0, 0.0)
) AS "t1"
GROUP BY
  1;
