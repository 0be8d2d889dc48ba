-- seo_rankings by date (last; period only): keyword_avg_position__n, keyword_avg_position__sum
SELECT
  "t3"."period",
  COUNT("t3"."position") AS "keyword_avg_position__n",
  SUM("t3"."position") AS "keyword_avg_position__sum"
FROM (
  SELECT
    *
  FROM (
    SELECT
      "t1"."date",
      "t1"."position",
      "t1"."period",
      MAX("t1"."date") OVER (
        PARTITION BY "t1"."period"
        ORDER BY NULL ASC
        ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
      ) AS "_last"
    FROM (
      SELECT
        "t0"."date",
        "t0"."position",
        CAST(DATE_TRUNC('MONTH', CAST("t0"."date" AS TIMESTAMP)) AS DATE) AS "period"
      FROM "seo_rankings" AS "t0"
      WHERE
        "t0"."date" IS NOT NULL
        AND "t0"."date" >= DATE_FROM_PARTS(2025, 1, 1)
        AND "t0"."date" < DATE_FROM_PARTS(2026, 1, 1)
    ) AS "t1"
  ) AS "t2"
  WHERE
    "t2"."date" = "t2"."_last"
) AS "t3"
GROUP BY
  1;
