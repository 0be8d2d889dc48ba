-- people by created_at (period; segment): mql_rate__cohort, mql_rate__reached
SELECT
  "t8"."period",
  "t8"."_j0_segment" AS "segment",
  COUNT_IF("t8"."created_at" <= TIMESTAMP_FROM_PARTS(2026, 6, 30, 23, 59, 59, 999999000)) AS "mql_rate__cohort",
  COUNT_IF(
    (
      "t8"."created_at" <= TIMESTAMP_FROM_PARTS(2026, 6, 30, 23, 59, 59, 999999000)
    )
    AND (
      (
        "t8"."mql_at" IS NOT NULL
      )
      AND (
        "t8"."mql_at" <= TIMESTAMP_FROM_PARTS(2026, 6, 30, 23, 59, 59, 999999000)
      )
    )
    AND (
      "t8"."mql_at" <= DATEADD(DAY, '90', "t8"."created_at")
    )
  ) AS "mql_rate__reached"
FROM (
  SELECT
    "t7"."account_id",
    "t7"."created_at",
    "t7"."mql_at",
    "t7"."_j0_segment",
    CAST(DATEADD(MONTH, '1', DATE_TRUNC('QUARTER', DATEADD(MONTH, -'1', "t7"."created_at"))) AS DATE) AS "period"
  FROM (
    SELECT
      "t6".*
      EXCLUDE ("_j0_key")
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
    AND "t7"."created_at" >= TIMESTAMP_FROM_PARTS(2024, 11, 1, 0, 0, 0, 0)
    AND "t7"."created_at" < TIMESTAMP_FROM_PARTS(2026, 2, 1, 0, 0, 0, 0)
) AS "t8"
GROUP BY
  1,
  2;
