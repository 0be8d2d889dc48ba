-- people by created_at (period; segment): mql_rate__cohort, mql_rate__reached
SELECT
  "t8"."period",
  "t8"."_j0_segment" AS "segment",
  COUNT(*) FILTER(WHERE
    "t8"."created_at" <= CAST('2026-06-30T23:59:59.999999' AS TIMESTAMP)) AS "mql_rate__cohort",
  COUNT(*) FILTER(WHERE
    (
      "t8"."created_at" <= CAST('2026-06-30T23:59:59.999999' AS TIMESTAMP)
    )
    AND (
      (
        "t8"."mql_at" IS NOT NULL
      )
      AND (
        "t8"."mql_at" <= CAST('2026-06-30T23:59:59.999999' AS TIMESTAMP)
      )
    )
    AND (
      "t8"."mql_at" <= (
        "t8"."created_at" + INTERVAL '90 DAY'
      )
    )) AS "mql_rate__reached"
FROM (
  SELECT
    "t7"."account_id",
    "t7"."created_at",
    "t7"."mql_at",
    "t7"."_j0_segment",
    CAST(DATE_TRUNC('QUARTER', "t7"."created_at" - INTERVAL '1 MONTH') + INTERVAL '1 MONTH' AS DATE) AS "period"
  FROM (
    SELECT
      "t6"."account_id",
      "t6"."created_at",
      "t6"."mql_at",
      "t6"."_j0_segment"
    FROM (
      SELECT
        "t4"."account_id",
        "t4"."created_at",
        "t4"."mql_at",
        "t5"."_j0_key",
        "t5"."_j0_segment"
      FROM (
        SELECT
          "t0"."account_id",
          "t0"."created_at",
          "t0"."mql_at"
        FROM "people" AS "t0"
      ) AS "t4"
      LEFT OUTER JOIN (
        SELECT
          "t1"."account_id" AS "_j0_key",
          "t1"."segment" AS "_j0_segment"
        FROM "accounts" AS "t1"
      ) AS "t5"
        ON "t4"."account_id" = "t5"."_j0_key"
    ) AS "t6"
  ) AS "t7"
  WHERE
    "t7"."created_at" IS NOT NULL
    AND "t7"."created_at" >= CAST('2024-11-01T00:00:00' AS TIMESTAMP)
    AND "t7"."created_at" < CAST('2026-02-01T00:00:00' AS TIMESTAMP)
) AS "t8"
GROUP BY
  1,
  2;
