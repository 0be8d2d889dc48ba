-- people by sql_at (period; period only): sql_to_opportunity_rate__cohort, sql_to_opportunity_rate__reached
SELECT
  "t1"."period",
  COUNT_IF("t1"."sql_at" <= TIMESTAMP_FROM_PARTS(2026, 6, 30, 23, 59, 59, 999999000)) AS "sql_to_opportunity_rate__cohort",
  COUNT_IF(
    (
      "t1"."sql_at" <= TIMESTAMP_FROM_PARTS(2026, 6, 30, 23, 59, 59, 999999000)
    )
    AND (
      (
        "t1"."opportunity_at" IS NOT NULL
      )
      AND (
        "t1"."opportunity_at" <= TIMESTAMP_FROM_PARTS(2026, 6, 30, 23, 59, 59, 999999000)
      )
    )
    AND (
      "t1"."opportunity_at" <= DATEADD(DAY, '90', "t1"."sql_at")
    )
  ) AS "sql_to_opportunity_rate__reached"
FROM (
  SELECT
    "t0"."sql_at",
    "t0"."opportunity_at",
    CAST(DATE_TRUNC('MONTH', "t0"."sql_at") AS DATE) AS "period"
  FROM "people" AS "t0"
  WHERE
    "t0"."sql_at" IS NOT NULL
    AND "t0"."sql_at" >= TIMESTAMP_FROM_PARTS(2025, 1, 1, 0, 0, 0, 0)
    AND "t0"."sql_at" < TIMESTAMP_FROM_PARTS(2026, 1, 1, 0, 0, 0, 0)
) AS "t1"
GROUP BY
  1;
