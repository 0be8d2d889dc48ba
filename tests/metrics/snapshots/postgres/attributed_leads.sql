-- attribution_credits by converted_at (period; period only): attributed_leads, attributed_leads__n
SELECT
  "t1"."period",
  SUM("t1"."credit") FILTER(WHERE
    "t1"."conversion" = 'lead') AS "attributed_leads",
  COUNT(*) FILTER(WHERE
    "t1"."conversion" = 'lead') AS "attributed_leads__n"
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
