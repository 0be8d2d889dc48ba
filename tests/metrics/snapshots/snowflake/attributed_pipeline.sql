-- attribution_credits by converted_at (period; period only): attributed_pipeline, attributed_pipeline__n
SELECT
  "t1"."period",
  SUM(IFF("t1"."conversion" = 'opportunity', "t1"."amount", NULL)) AS "attributed_pipeline",
  COUNT_IF("t1"."conversion" = 'opportunity') AS "attributed_pipeline__n"
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
