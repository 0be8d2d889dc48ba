-- clv_values by acquired_at (period; period only): clv_predicted__n, clv_predicted__sum
SELECT
  "t1"."period",
  COUNT("t1"."lifetime_value") AS "clv_predicted__n",
  SUM("t1"."lifetime_value") AS "clv_predicted__sum"
FROM (
  SELECT
    "t0"."acquired_at",
    "t0"."lifetime_value",
    CAST(DATE_TRUNC('MONTH', "t0"."acquired_at") AS DATE) AS "period"
  FROM "clv_values__bg_nbd__20260630T235959999999" AS "t0"
  WHERE
    "t0"."acquired_at" IS NOT NULL
    AND "t0"."acquired_at" >= CAST('2025-01-01T00:00:00' AS TIMESTAMP)
    AND "t0"."acquired_at" < CAST('2026-01-01T00:00:00' AS TIMESTAMP)
) AS "t1"
GROUP BY
  1;
