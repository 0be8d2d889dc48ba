-- people by created_at (period; period only): lead_conversion_rate__cohort, lead_conversion_rate__reached
SELECT
  "t1"."period",
  COUNT_IF("t1"."created_at" <= TIMESTAMP_FROM_PARTS(2026, 6, 30, 23, 59, 59, 999999000)) AS "lead_conversion_rate__cohort",
  COUNT_IF(
    (
      "t1"."created_at" <= TIMESTAMP_FROM_PARTS(2026, 6, 30, 23, 59, 59, 999999000)
    )
    AND (
      (
        CASE
          WHEN "t1"."opportunity_at" IS NULL
          THEN "t1"."customer_at"
          WHEN "t1"."customer_at" IS NULL
          THEN "t1"."opportunity_at"
          WHEN "t1"."customer_at" < "t1"."opportunity_at"
          THEN "t1"."customer_at"
          ELSE "t1"."opportunity_at"
        END IS NOT NULL
      )
      AND (
        CASE
          WHEN "t1"."opportunity_at" IS NULL
          THEN "t1"."customer_at"
          WHEN "t1"."customer_at" IS NULL
          THEN "t1"."opportunity_at"
          WHEN "t1"."customer_at" < "t1"."opportunity_at"
          THEN "t1"."customer_at"
          ELSE "t1"."opportunity_at"
        END <= TIMESTAMP_FROM_PARTS(2026, 6, 30, 23, 59, 59, 999999000)
      )
    )
    AND (
      CASE
        WHEN "t1"."opportunity_at" IS NULL
        THEN "t1"."customer_at"
        WHEN "t1"."customer_at" IS NULL
        THEN "t1"."opportunity_at"
        WHEN "t1"."customer_at" < "t1"."opportunity_at"
        THEN "t1"."customer_at"
        ELSE "t1"."opportunity_at"
      END <= DATEADD(DAY, '180', "t1"."created_at")
    )
  ) AS "lead_conversion_rate__reached"
FROM (
  SELECT
    "t0"."created_at",
    "t0"."opportunity_at",
    "t0"."customer_at",
    CAST(DATE_TRUNC('MONTH', "t0"."created_at") AS DATE) AS "period"
  FROM "people" AS "t0"
  WHERE
    "t0"."created_at" IS NOT NULL
    AND "t0"."created_at" >= TIMESTAMP_FROM_PARTS(2025, 1, 1, 0, 0, 0, 0)
    AND "t0"."created_at" < TIMESTAMP_FROM_PARTS(2026, 1, 1, 0, 0, 0, 0)
) AS "t1"
GROUP BY
  1;
