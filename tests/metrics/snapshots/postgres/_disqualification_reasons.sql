-- people by mql_at (period; channel): disqualification_rate__cohort
SELECT
  "t1"."period",
  "t1"."channel",
  COUNT(*) FILTER(WHERE
    "t1"."mql_at" <= CAST('2026-06-30T23:59:59.999999' AS TIMESTAMP)) AS "disqualification_rate__cohort"
FROM (
  SELECT
    "t0"."channel",
    "t0"."mql_at",
    CAST(DATE_TRUNC('MONTH', "t0"."mql_at") AS DATE) AS "period"
  FROM "people" AS "t0"
  WHERE
    "t0"."mql_at" IS NOT NULL
    AND "t0"."mql_at" >= CAST('2025-01-01T00:00:00' AS TIMESTAMP)
    AND "t0"."mql_at" < CAST('2026-01-01T00:00:00' AS TIMESTAMP)
) AS "t1"
GROUP BY
  1,
  2;

-- people by mql_at (period; channel, disqualification_reason): disqualification_rate__reached
SELECT
  "t1"."period",
  "t1"."channel",
  "t1"."disqualification_reason",
  COUNT(*) FILTER(WHERE
    (
      "t1"."mql_at" <= CAST('2026-06-30T23:59:59.999999' AS TIMESTAMP)
    )
    AND (
      (
        "t1"."disqualified_at" IS NOT NULL
      )
      AND (
        "t1"."disqualified_at" <= CAST('2026-06-30T23:59:59.999999' AS TIMESTAMP)
      )
    )
    AND (
      "t1"."disqualified_at" <= (
        "t1"."mql_at" + INTERVAL '60 DAY'
      )
    )) AS "disqualification_rate__reached"
FROM (
  SELECT
    "t0"."channel",
    "t0"."mql_at",
    "t0"."disqualified_at",
    "t0"."disqualification_reason",
    CAST(DATE_TRUNC('MONTH', "t0"."mql_at") AS DATE) AS "period"
  FROM "people" AS "t0"
  WHERE
    "t0"."mql_at" IS NOT NULL
    AND "t0"."mql_at" >= CAST('2025-01-01T00:00:00' AS TIMESTAMP)
    AND "t0"."mql_at" < CAST('2026-01-01T00:00:00' AS TIMESTAMP)
) AS "t1"
GROUP BY
  1,
  2,
  3;
