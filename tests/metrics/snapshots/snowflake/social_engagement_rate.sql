-- social_posts by date (period; period only): social_engagement_rate__numerator, social_engagement_rate__denominator, social_engagement_rate__rows
SELECT
  "t1"."period",
  SUM(
    COALESCE("t1"."likes", 0) + COALESCE("t1"."shares", 0) + COALESCE("t1"."comments", 0)
  ) AS "social_engagement_rate__numerator",
  SUM("t1"."impressions") AS "social_engagement_rate__denominator",
  COUNT(*) AS "social_engagement_rate__rows"
FROM (
  SELECT
    "t0"."date",
    "t0"."impressions",
    "t0"."likes",
    "t0"."shares",
    "t0"."comments",
    CAST(DATE_TRUNC('MONTH', CAST("t0"."date" AS TIMESTAMP)) AS DATE) AS "period"
  FROM "social_posts" AS "t0"
  WHERE
    "t0"."date" IS NOT NULL
    AND "t0"."date" >= DATE_FROM_PARTS(2025, 1, 1)
    AND "t0"."date" < DATE_FROM_PARTS(2026, 1, 1)
) AS "t1"
GROUP BY
  1;
