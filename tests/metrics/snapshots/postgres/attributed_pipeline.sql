-- attribution_credits by converted_at (period; period only): attributed_pipeline, attributed_pipeline__n
SELECT
  "t1"."period",
  SUM("t1"."amount") FILTER(WHERE
    "t1"."conversion" = 'opportunity') AS "attributed_pipeline",
  COUNT(*) FILTER(WHERE
    "t1"."conversion" = 'opportunity') AS "attributed_pipeline__n"
FROM (
  SELECT
    "t0"."conversion",
    "t0"."converted_at",
    "t0"."amount",
    CAST(DATE_TRUNC('MONTH', "t0"."converted_at") AS DATE) AS "period"
  FROM "attribution_credits__linear__20260630T235959999999" AS "t0"
  WHERE
    "t0"."converted_at" IS NOT NULL
    AND "t0"."converted_at" >= CAST('2025-01-01T00:00:00' AS TIMESTAMP)
    AND "t0"."converted_at" < CAST('2026-01-01T00:00:00' AS TIMESTAMP)
) AS "t1"
GROUP BY
  1;
