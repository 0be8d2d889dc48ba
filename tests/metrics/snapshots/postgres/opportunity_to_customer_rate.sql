-- people by opportunity_at (period; period only): opportunity_to_customer_rate__cohort, opportunity_to_customer_rate__reached
SELECT
  "t1"."period",
  COUNT(*) FILTER(WHERE
    "t1"."opportunity_at" <= CAST('2026-06-30T23:59:59.999999' AS TIMESTAMP)) AS "opportunity_to_customer_rate__cohort",
  COUNT(*) FILTER(WHERE
    (
      "t1"."opportunity_at" <= CAST('2026-06-30T23:59:59.999999' AS TIMESTAMP)
    )
    AND (
      (
        "t1"."customer_at" IS NOT NULL
      )
      AND (
        "t1"."customer_at" <= CAST('2026-06-30T23:59:59.999999' AS TIMESTAMP)
      )
    )
    AND (
      "t1"."customer_at" <= (
        "t1"."opportunity_at" + INTERVAL '180 DAY'
      )
    )) AS "opportunity_to_customer_rate__reached"
FROM (
  SELECT
    "t0"."opportunity_at",
    "t0"."customer_at",
    CAST(DATE_TRUNC('MONTH', "t0"."opportunity_at") AS DATE) AS "period"
  FROM "people" AS "t0"
  WHERE
    "t0"."opportunity_at" IS NOT NULL
    AND "t0"."opportunity_at" >= CAST('2025-01-01T00:00:00' AS TIMESTAMP)
    AND "t0"."opportunity_at" < CAST('2026-01-01T00:00:00' AS TIMESTAMP)
) AS "t1"
GROUP BY
  1;
