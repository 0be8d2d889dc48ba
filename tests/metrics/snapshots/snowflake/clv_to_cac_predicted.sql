-- clv_values by acquired_at (period; period only): clv_predicted__n, clv_predicted__sum
SELECT
  "t1"."period",
  COUNT("t1"."lifetime_value") AS "clv_predicted__n",
  SUM("t1"."lifetime_value") AS "clv_predicted__sum"
FROM (
  SELECT
    "t0"."acquired_at",
    "t0"."lifetime_value",
    CAST(DATE_TRUNC('MONTH', "t0"."acquired_at") AS DATE) AS "period"
  FROM "clv_values__bg_nbd__20260630T235959999999" AS "t0"
  WHERE
    "t0"."acquired_at" IS NOT NULL
    AND "t0"."acquired_at" >= TIMESTAMP_FROM_PARTS(2025, 1, 1, 0, 0, 0, 0)
    AND "t0"."acquired_at" < TIMESTAMP_FROM_PARTS(2026, 1, 1, 0, 0, 0, 0)
) AS "t1"
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
    AND "t0"."date" >= DATE_FROM_PARTS(2025, 1, 1)
    AND "t0"."date" < DATE_FROM_PARTS(2026, 1, 1)
) AS "t1"
GROUP BY
  1;

-- opportunities by closed_at (period; period only): new_customers
SELECT
  "t3"."period",
  COUNT_IF("t3"."is_first_win" = TRUE) AS "new_customers"
FROM (
  SELECT
    "t2"."opportunity_id",
    "t2"."account_id",
    "t2"."closed_at",
    "t2"."is_won",
    "t2"."is_first_win",
    CAST(DATE_TRUNC('MONTH', "t2"."closed_at") AS DATE) AS "period"
  FROM (
    SELECT
      "t1"."opportunity_id",
      "t1"."account_id",
      "t1"."closed_at",
      "t1"."is_won",
      COALESCE(
        "t1"."is_won"
        AND (
          "t1"."closed_at" IS NOT NULL
        )
        AND (
          "t1"."account_id" IS NOT NULL
        )
        AND (
          (
            ROW_NUMBER() OVER (
              PARTITION BY "t1"."account_id", "t1"."is_won"
              ORDER BY "t1"."closed_at" ASC, "t1"."opportunity_id" ASC
            ) - 1
          ) = 0
        ),
        FALSE
      ) AS "is_first_win"
    FROM (
      SELECT
        "t0"."opportunity_id",
        "t0"."account_id",
        "t0"."closed_at",
        "t0"."is_won"
      FROM "opportunities" AS "t0"
    ) AS "t1"
  ) AS "t2"
  WHERE
    "t2"."closed_at" IS NOT NULL
    AND "t2"."closed_at" >= TIMESTAMP_FROM_PARTS(2025, 1, 1, 0, 0, 0, 0)
    AND "t2"."closed_at" < TIMESTAMP_FROM_PARTS(2026, 1, 1, 0, 0, 0, 0)
) AS "t3"
GROUP BY
  1;
