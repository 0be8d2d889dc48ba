-- people by mql_at (period; period only): sales_qualification_rate__cohort, sales_qualification_rate__reached
SELECT
  "t1"."period",
  COUNT_IF("t1"."mql_at" <= TIMESTAMP_FROM_PARTS(2026, 6, 30, 23, 59, 59, 999999000)) AS "sales_qualification_rate__cohort",
  COUNT_IF(
    (
      "t1"."mql_at" <= TIMESTAMP_FROM_PARTS(2026, 6, 30, 23, 59, 59, 999999000)
    )
    AND (
      (
        "t1"."sql_at" IS NOT NULL
      )
      AND (
        "t1"."sql_at" <= TIMESTAMP_FROM_PARTS(2026, 6, 30, 23, 59, 59, 999999000)
      )
    )
    AND (
      "t1"."sql_at" <= DATEADD(DAY, '60', "t1"."mql_at")
    )
  ) AS "sales_qualification_rate__reached"
FROM (
  SELECT
    "t0"."mql_at",
    "t0"."sql_at",
    CAST(DATE_TRUNC('MONTH', "t0"."mql_at") AS DATE) AS "period"
  FROM "people" AS "t0"
  WHERE
    "t0"."mql_at" IS NOT NULL
    AND "t0"."mql_at" >= TIMESTAMP_FROM_PARTS(2025, 1, 1, 0, 0, 0, 0)
    AND "t0"."mql_at" < TIMESTAMP_FROM_PARTS(2026, 1, 1, 0, 0, 0, 0)
) AS "t1"
GROUP BY
  1;
