-- opportunities by closed_at (period; period only): clv__n, clv__sum, new_customers
SELECT
  "t9"."period",
  COUNT("t9"."account_revenue_to_date") FILTER(WHERE
    "t9"."is_first_win" = TRUE) AS "clv__n",
  SUM("t9"."account_revenue_to_date") FILTER(WHERE
    "t9"."is_first_win" = TRUE) AS "clv__sum",
  COUNT(*) FILTER(WHERE
    "t9"."is_first_win" = TRUE) AS "new_customers"
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
              ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
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
        COALESCE(CAST("t6"."_rv" AS DOUBLE PRECISION), 0.0) AS "account_revenue_to_date"
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
              AND "t0"."closed_at" <= CAST('2026-06-30T23:59:59.999999' AS TIMESTAMP)
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
    AND "t8"."closed_at" >= CAST('2025-01-01T00:00:00' AS TIMESTAMP)
    AND "t8"."closed_at" < CAST('2026-01-01T00:00:00' AS TIMESTAMP)
) AS "t9"
GROUP BY
  1;

-- costs by date (period; period only): total_cost, total_cost__n
SELECT
  "t1"."period",
  SUM("t1"."amount") AS "total_cost",
  COUNT(*) AS "total_cost__n"
FROM (
  SELECT
    "t0"."date",
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
