-- people by opportunity_at (period; period only): opportunity_leads
SELECT
  "t1"."period",
  COUNT(*) AS "opportunity_leads"
FROM (
  SELECT
    "t0"."opportunity_at",
    CAST(DATE_TRUNC('MONTH', "t0"."opportunity_at") AS DATE) AS "period"
  FROM "people" AS "t0"
  WHERE
    "t0"."opportunity_at" IS NOT NULL
    AND "t0"."opportunity_at" >= TIMESTAMP_FROM_PARTS(2025, 1, 1, 0, 0, 0, 0)
    AND "t0"."opportunity_at" < TIMESTAMP_FROM_PARTS(2026, 1, 1, 0, 0, 0, 0)
) AS "t1"
GROUP BY
  1;
