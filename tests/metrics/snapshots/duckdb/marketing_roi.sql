-- costs by date (period; period only): marketing_cost, marketing_cost__n
SELECT
  "t1"."period",
  SUM("t1"."amount") FILTER(WHERE
    "t1"."team" = 'marketing') AS "marketing_cost",
  COUNT(*) FILTER(WHERE
    "t1"."team" = 'marketing') AS "marketing_cost__n"
FROM (
  SELECT
    "t0"."date",
    "t0"."team",
    "t0"."amount",
    CAST(DATE_TRUNC('MONTH', CAST("t0"."date" AS TIMESTAMP)) AS DATE) AS "period"
  FROM "costs" AS "t0"
  WHERE
    "t0"."date" IS NOT NULL
    AND "t0"."date" >= MAKE_DATE(2025, 1, 1)
    AND "t0"."date" < MAKE_DATE(2026, 1, 1)
) AS "t1"
GROUP BY
  1;

-- opportunities by closed_at (period; period only): marketing_sourced_revenue, marketing_sourced_revenue__n
SELECT
  "t1"."period",
  SUM("t1"."amount") FILTER(WHERE
    (
      "t1"."is_won" = TRUE
    ) AND (
      "t1"."marketing_sourced" = TRUE
    )) AS "marketing_sourced_revenue",
  COUNT(*) FILTER(WHERE
    (
      "t1"."is_won" = TRUE
    ) AND (
      "t1"."marketing_sourced" = TRUE
    )) AS "marketing_sourced_revenue__n"
FROM (
  SELECT
    "t0"."person_id",
    "t0"."channel",
    "t0"."created_at",
    "t0"."closed_at",
    "t0"."is_won",
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
    CAST(DATE_TRUNC('MONTH', "t0"."closed_at") AS DATE) AS "period"
  FROM "opportunities" AS "t0"
  WHERE
    "t0"."closed_at" IS NOT NULL
    AND "t0"."closed_at" >= MAKE_TIMESTAMP(2025, 1, 1, 0, 0, 0.0)
    AND "t0"."closed_at" < MAKE_TIMESTAMP(2026, 1, 1, 0, 0, 0.0)
) AS "t1"
GROUP BY
  1;
