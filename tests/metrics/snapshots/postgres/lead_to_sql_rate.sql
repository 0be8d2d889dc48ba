-- people by created_at (period; period only): lead_to_sql_rate__cohort, lead_to_sql_rate__reached
SELECT
  "t1"."period",
  COUNT(*) FILTER(WHERE
    "t1"."created_at" <= CAST('2026-06-30T23:59:59.999999' AS TIMESTAMP)) AS "lead_to_sql_rate__cohort",
  COUNT(*) FILTER(WHERE
    (
      "t1"."created_at" <= CAST('2026-06-30T23:59:59.999999' AS TIMESTAMP)
    )
    AND (
      (
        "t1"."sql_at" IS NOT NULL
      )
      AND (
        "t1"."sql_at" <= CAST('2026-06-30T23:59:59.999999' AS TIMESTAMP)
      )
    )
    AND (
      "t1"."sql_at" <= (
        "t1"."created_at" + INTERVAL '90 DAY'
      )
    )) AS "lead_to_sql_rate__reached"
FROM (
  SELECT
    "t0"."created_at",
    "t0"."sql_at",
    CAST(DATE_TRUNC('MONTH', "t0"."created_at") AS DATE) AS "period"
  FROM "people" AS "t0"
  WHERE
    "t0"."created_at" IS NOT NULL
    AND "t0"."created_at" >= CAST('2025-01-01T00:00:00' AS TIMESTAMP)
    AND "t0"."created_at" < CAST('2026-01-01T00:00:00' AS TIMESTAMP)
) AS "t1"
GROUP BY
  1;
