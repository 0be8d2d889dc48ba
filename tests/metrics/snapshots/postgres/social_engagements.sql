-- social_posts by date (period; period only): social_engagements, social_engagements__n
SELECT
  "t1"."period",
  SUM(
    COALESCE("t1"."likes", 0) + COALESCE("t1"."shares", 0) + COALESCE("t1"."comments", 0)
  ) AS "social_engagements",
  COUNT(*) AS "social_engagements__n"
FROM (
  SELECT
    "t0"."date",
    "t0"."likes",
    "t0"."shares",
    "t0"."comments",
    CAST(DATE_TRUNC('MONTH', CAST("t0"."date" AS TIMESTAMP)) AS DATE) AS "period"
  FROM "social_posts" AS "t0"
  WHERE
    "t0"."date" IS NOT NULL
    AND "t0"."date" >= MAKE_DATE(2025, 1, 1)
    AND "t0"."date" < MAKE_DATE(2026, 1, 1)
) AS "t1"
GROUP BY
  1;
