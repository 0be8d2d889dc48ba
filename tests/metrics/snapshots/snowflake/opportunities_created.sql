-- opportunities by created_at (period; period only): opportunities_created
SELECT
  "t1"."period",
  COUNT(*) AS "opportunities_created"
FROM (
  SELECT
    "t0"."created_at",
    CAST(DATE_TRUNC('MONTH', "t0"."created_at") AS DATE) AS "period"
  FROM "opportunities" AS "t0"
  WHERE
    "t0"."created_at" IS NOT NULL
    AND "t0"."created_at" >= TIMESTAMP_FROM_PARTS(2025, 1, 1, 0, 0, 0, 0)
    AND "t0"."created_at" < TIMESTAMP_FROM_PARTS(2026, 1, 1, 0, 0, 0, 0)
) AS "t1"
GROUP BY
  1;
