-- opportunities by closed_at (period; period only): clv__n, clv__sum
SELECT
  "t9"."period",
  COUNT(IFF("t9"."is_first_win" = TRUE, "t9"."account_revenue_to_date", NULL)) AS "clv__n",
  SUM(IFF("t9"."is_first_win" = TRUE, "t9"."account_revenue_to_date", NULL)) AS "clv__sum"
FROM (
  SELECT
    "t8"."opportunity_id",
    "t8"."account_id",
    "t8"."closed_at",
    "t8"."is_won",
    "t8"."account_revenue_to_date",
    "t8"."is_first_win",
    CAST(DATE_TRUNC('MONTH', "t8"."closed_at") AS DATE) AS "period"
  FROM (
    SELECT
      "t7"."opportunity_id",
      "t7"."account_id",
      "t7"."closed_at",
      "t7"."is_won",
      "t7"."account_revenue_to_date",
      COALESCE(
        "t7"."is_won"
        AND (
          "t7"."closed_at" IS NOT NULL
        )
        AND (
          "t7"."account_id" IS NOT NULL
        )
        AND (
          (
            ROW_NUMBER() OVER (
              PARTITION BY "t7"."account_id", "t7"."is_won"
              ORDER BY "t7"."closed_at" ASC, "t7"."opportunity_id" ASC
            ) - 1
          ) = 0
        ),
        FALSE
      ) AS "is_first_win"
    FROM (
      SELECT
        "t6"."opportunity_id",
        "t6"."account_id",
        "t6"."closed_at",
        "t6"."is_won",
        COALESCE(CAST("t6"."_rv" AS DOUBLE), 0.0) AS "account_revenue_to_date"
      FROM (
        SELECT
          "t3"."opportunity_id",
          "t3"."account_id",
          "t3"."closed_at",
          "t3"."is_won",
          "t5"."_rv_account",
          "t5"."_rv"
        FROM (
          SELECT
            "t0"."opportunity_id",
            "t0"."account_id",
            "t0"."closed_at",
            "t0"."is_won"
          FROM "opportunities" AS "t0"
        ) AS "t3"
        LEFT OUTER JOIN (
          SELECT
            "t2"."account_id" AS "_rv_account",
            SUM("t2"."amount") AS "_rv"
          FROM (
            SELECT
              *
            FROM "opportunities" AS "t0"
            WHERE
              "t0"."is_won"
              AND "t0"."closed_at" <= TIMESTAMP_FROM_PARTS(2026, 6, 30, 23, 59, 59, 999999000)
          ) AS "t2"
          GROUP BY
            1
        ) AS "t5"
          ON "t3"."account_id" = "t5"."_rv_account"
      ) AS "t6"
    ) AS "t7"
  ) AS "t8"
  WHERE
    "t8"."closed_at" IS NOT NULL
    AND "t8"."closed_at" >= TIMESTAMP_FROM_PARTS(2025, 1, 1, 0, 0, 0, 0)
    AND "t8"."closed_at" < TIMESTAMP_FROM_PARTS(2026, 1, 1, 0, 0, 0, 0)
) AS "t9"
GROUP BY
  1;
