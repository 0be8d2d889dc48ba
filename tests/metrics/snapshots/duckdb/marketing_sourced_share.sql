-- opportunities by created_at (period; period only): marketing_sourced_pipeline, marketing_sourced_pipeline__n, pipeline_created, pipeline_created__n
SELECT
  "t1"."period",
  SUM("t1"."amount") FILTER(WHERE
    "t1"."marketing_sourced" = TRUE) AS "marketing_sourced_pipeline",
  COUNT(*) FILTER(WHERE
    "t1"."marketing_sourced" = TRUE) AS "marketing_sourced_pipeline__n",
  SUM("t1"."amount") AS "pipeline_created",
  COUNT(*) AS "pipeline_created__n"
FROM (
  SELECT
    "t0"."person_id",
    "t0"."channel",
    "t0"."created_at",
    "t0"."amount",
    COALESCE(
      "t0"."channel" IN (
        'paid_search',
        'paid_social',
        'organic_search',
        'organic_social',
        'email',
        'events',
        'webinar',
        'content',
        'referral',
        'direct'
      ),
      FALSE
    ) AS "marketing_sourced",
    CAST(DATE_TRUNC('MONTH', "t0"."created_at") AS DATE) AS "period"
  FROM "opportunities" AS "t0"
  WHERE
    "t0"."created_at" IS NOT NULL
    AND "t0"."created_at" >= MAKE_TIMESTAMP(2025, 1, 1, 0, 0, 0.0)
    AND "t0"."created_at" < MAKE_TIMESTAMP(2026, 1, 1, 0, 0, 0.0)
) AS "t1"
GROUP BY
  1;
