-- opportunities by closed_at (period; segment): sales_cycle_days__n, sales_cycle_days
WITH "t8" AS (
  SELECT
    "t7"."account_id",
    "t7"."created_at",
    "t7"."closed_at",
    "t7"."is_won",
    "t7"."_j0_segment",
    CAST(DATE_TRUNC('MONTH', "t7"."closed_at") AS DATE) AS "period"
  FROM (
    SELECT
      "t6".*
      EXCLUDE ("_j0_key")
    FROM (
      SELECT
        "t4"."account_id",
        "t4"."created_at",
        "t4"."closed_at",
        "t4"."is_won",
        "t5"."_j0_key",
        "t5"."_j0_segment"
      FROM (
        SELECT
          "t0"."account_id",
          "t0"."created_at",
          "t0"."closed_at",
          "t0"."is_won"
        FROM "opportunities" AS "t0"
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
    "t7"."closed_at" IS NOT NULL
    AND "t7"."closed_at" >= TIMESTAMP_FROM_PARTS(2025, 1, 1, 0, 0, 0, 0)
    AND "t7"."closed_at" < TIMESTAMP_FROM_PARTS(2026, 1, 1, 0, 0, 0, 0)
)
SELECT
  *
FROM (
  SELECT
    "t10"."period",
    "t10"."segment",
    "t10"."sales_cycle_days__n",
    "t10"."sales_cycle_days",
    FALSE AS "_total"
  FROM (
    SELECT
      "t9"."period",
      "t9"."_j0_segment" AS "segment",
      COUNT(
        IFF(
          "t9"."is_won" = TRUE,
          CAST(DATE_PART('epoch', "t9"."closed_at") - DATE_PART('epoch', "t9"."created_at") AS DOUBLE) / 86400.0,
          NULL
        )
      ) AS "sales_cycle_days__n",
      MEDIAN(
        IFF(
          "t9"."is_won" = TRUE,
          CAST(DATE_PART('epoch', "t9"."closed_at") - DATE_PART('epoch', "t9"."created_at") AS DOUBLE) / 86400.0,
          CAST(NULL AS DOUBLE)
        )
      ) AS "sales_cycle_days"
    FROM "t8" AS "t9"
    GROUP BY
      1,
      2
  ) AS "t10"
) AS "t12"
UNION ALL
SELECT
  *
FROM (
  SELECT
    "t11"."period",
    CAST(NULL AS VARCHAR) AS "segment",
    "t11"."sales_cycle_days__n",
    "t11"."sales_cycle_days",
    TRUE AS "_total"
  FROM (
    SELECT
      "t9"."period",
      COUNT(
        IFF(
          "t9"."is_won" = TRUE,
          CAST(DATE_PART('epoch', "t9"."closed_at") - DATE_PART('epoch', "t9"."created_at") AS DOUBLE) / 86400.0,
          NULL
        )
      ) AS "sales_cycle_days__n",
      MEDIAN(
        IFF(
          "t9"."is_won" = TRUE,
          CAST(DATE_PART('epoch', "t9"."closed_at") - DATE_PART('epoch', "t9"."created_at") AS DOUBLE) / 86400.0,
          CAST(NULL AS DOUBLE)
        )
      ) AS "sales_cycle_days"
    FROM "t8" AS "t9"
    GROUP BY
      1
  ) AS "t11"
) AS "t13";
