-- touchpoints by occurred_at (period; period only): content_downloads
SELECT
  "t1"."period",
  COUNT_IF("t1"."type" = 'content_download') AS "content_downloads"
FROM (
  SELECT
    "t0"."type",
    "t0"."occurred_at",
    CAST(DATE_TRUNC('MONTH', "t0"."occurred_at") AS DATE) AS "period"
  FROM "touchpoints" AS "t0"
  WHERE
    "t0"."occurred_at" IS NOT NULL
    AND "t0"."occurred_at" >= TIMESTAMP_FROM_PARTS(2025, 1, 1, 0, 0, 0, 0)
    AND "t0"."occurred_at" < TIMESTAMP_FROM_PARTS(2026, 1, 1, 0, 0, 0, 0)
) AS "t1"
GROUP BY
  1;
