-- social_posts by date (period; period only): social_likes, social_likes__n
SELECT
  "t1"."period",
  SUM("t1"."likes") AS "social_likes",
  COUNT(*) AS "social_likes__n"
FROM (
  SELECT
    "t0"."date",
    "t0"."likes",
    CAST(DATE_TRUNC('MONTH', CAST("t0"."date" AS TIMESTAMP)) AS DATE) AS "period"
  FROM "social_posts" AS "t0"
  WHERE
    "t0"."date" IS NOT NULL
    AND "t0"."date" >= DATE_FROM_PARTS(2025, 1, 1)
    AND "t0"."date" < DATE_FROM_PARTS(2026, 1, 1)
) AS "t1"
GROUP BY
  1;
