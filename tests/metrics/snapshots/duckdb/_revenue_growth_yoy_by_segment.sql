-- opportunities by closed_at (period; segment): revenue, revenue__n
SELECT
  "t8"."period",
  "t8"."_j0_segment" AS "segment",
  SUM("t8"."amount") FILTER(WHERE
    "t8"."is_won" = TRUE) AS "revenue",
  COUNT(*) FILTER(WHERE
    "t8"."is_won" = TRUE) AS "revenue__n"
FROM (
  SELECT
    "t7"."account_id",
    "t7"."closed_at",
    "t7"."is_won",
    "t7"."amount",
    "t7"."_j0_segment",
    CAST(DATE_TRUNC('MONTH', "t7"."closed_at") AS DATE) AS "period"
  FROM (
    SELECT
      "t6".*
      EXCLUDE ("_j0_key")
    FROM (
      SELECT
        "t4"."account_id",
        "t4"."closed_at",
        "t4"."is_won",
        "t4"."amount",
        "t5"."_j0_key",
        "t5"."_j0_segment"
      FROM (
        SELECT
          "t0"."account_id",
          "t0"."closed_at",
          "t0"."is_won",
          "t0"."amount"
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
    AND "t7"."closed_at" >= MAKE_TIMESTAMP(2024, 1, 1, 0, 0, 0.0)
    AND "t7"."closed_at" < MAKE_TIMESTAMP(2026, 1, 1, 0, 0, 0.0)
) AS "t8"
GROUP BY
  1,
  2;
