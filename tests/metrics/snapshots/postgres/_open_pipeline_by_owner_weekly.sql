-- opportunities by created_at (open; owner): open_pipeline, open_pipeline__n
SELECT
  "t3"."period",
  "t3"."owner",
  SUM("t3"."open_pipeline") AS "open_pipeline",
  SUM("t3"."open_pipeline__n") AS "open_pipeline__n"
FROM (
  SELECT
    *
  FROM (
    SELECT
      CAST(DATE_TRUNC('WEEK', "t0"."created_at") AS DATE) AS "period",
      "t0"."owner_id" AS "owner",
      CAST("t0"."amount" * 1 AS DOUBLE PRECISION) AS "open_pipeline",
      CAST(1 * 1 AS DOUBLE PRECISION) AS "open_pipeline__n"
    FROM "opportunities" AS "t0"
    WHERE
      "t0"."created_at" IS NOT NULL
      AND "t0"."created_at" < CAST('2026-01-05T00:00:00' AS TIMESTAMP)
  ) AS "t1"
  UNION ALL
  SELECT
    *
  FROM (
    SELECT
      CAST(DATE_TRUNC('WEEK', "t0"."closed_at") AS DATE) AS "period",
      "t0"."owner_id" AS "owner",
      CAST("t0"."amount" * -1 AS DOUBLE PRECISION) AS "open_pipeline",
      CAST(1 * -1 AS DOUBLE PRECISION) AS "open_pipeline__n"
    FROM "opportunities" AS "t0"
    WHERE
      "t0"."closed_at" IS NOT NULL
      AND "t0"."closed_at" < CAST('2026-01-05T00:00:00' AS TIMESTAMP)
  ) AS "t2"
) AS "t3"
GROUP BY
  1,
  2;
