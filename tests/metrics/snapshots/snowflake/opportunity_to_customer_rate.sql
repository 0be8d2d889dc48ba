-- people by opportunity_at (period; period only): opportunity_to_customer_rate__cohort, opportunity_to_customer_rate__reached
SELECT
  "t1"."period",
  COUNT_IF(
    "t1"."opportunity_at" <= TIMESTAMP_FROM_PARTS(2026, 6, 30, 23, 59, 59, 999999000)
  ) AS "opportunity_to_customer_rate__cohort",
  COUNT_IF(
    (
      "t1"."opportunity_at" <= TIMESTAMP_FROM_PARTS(2026, 6, 30, 23, 59, 59, 999999000)
    )
    AND (
      (
        "t1"."customer_at" IS NOT NULL
      )
      AND (
        "t1"."customer_at" <= TIMESTAMP_FROM_PARTS(2026, 6, 30, 23, 59, 59, 999999000)
      )
    )
    AND (
      "t1"."customer_at" <= DATEADD(DAY, '180', "t1"."opportunity_at")
    )
  ) AS "opportunity_to_customer_rate__reached"
FROM (
  SELECT
    "t0"."opportunity_at",
    "t0"."customer_at",
    CAST(DATE_TRUNC('MONTH', "t0"."opportunity_at") AS DATE) AS "period"
  FROM "people" AS "t0"
  WHERE
    "t0"."opportunity_at" IS NOT NULL
    AND "t0"."opportunity_at" >= TIMESTAMP_FROM_PARTS(2025, 1, 1, 0, 0, 0, 0)
    AND "t0"."opportunity_at" < TIMESTAMP_FROM_PARTS(2026, 1, 1, 0, 0, 0, 0)
) AS "t1"
GROUP BY
  1;
