-- web_traffic by date (period; period only): organic_sessions, organic_sessions__n
SELECT
  "t1"."period",
  SUM(IFF("t1"."channel" = 'organic_search', "t1"."sessions", NULL)) AS "organic_sessions",
  COUNT_IF("t1"."channel" = 'organic_search') AS "organic_sessions__n"
FROM (
  SELECT
    "t0"."date",
    "t0"."channel",
    "t0"."sessions",
    CAST(DATE_TRUNC('MONTH', CAST("t0"."date" AS TIMESTAMP)) AS DATE) AS "period"
  FROM "web_traffic" AS "t0"
  WHERE
    "t0"."date" IS NOT NULL
    AND "t0"."date" >= DATE_FROM_PARTS(2025, 1, 1)
    AND "t0"."date" < DATE_FROM_PARTS(2026, 1, 1)
) AS "t1"
GROUP BY
  1;
