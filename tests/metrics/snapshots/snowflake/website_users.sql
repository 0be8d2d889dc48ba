-- web_traffic by date (period; period only): website_users, website_users__n
SELECT
  "t1"."period",
  SUM("t1"."users") AS "website_users",
  COUNT(*) AS "website_users__n"
FROM (
  SELECT
    "t0"."date",
    "t0"."users",
    CAST(DATE_TRUNC('MONTH', CAST("t0"."date" AS TIMESTAMP)) AS DATE) AS "period"
  FROM "web_traffic" AS "t0"
  WHERE
    "t0"."date" IS NOT NULL
    AND "t0"."date" >= DATE_FROM_PARTS(2025, 1, 1)
    AND "t0"."date" < DATE_FROM_PARTS(2026, 1, 1)
) AS "t1"
GROUP BY
  1;
