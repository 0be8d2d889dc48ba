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
