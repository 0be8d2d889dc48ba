-- people by mql_at (period; period only): mqls_worked_1h_rate__numerator, mqls_worked_1h_rate__denominator
SELECT
  "t11"."period",
  COUNT_IF("t11"."hours_to_first_sales_activity" <= 1) AS "mqls_worked_1h_rate__numerator",
  COUNT(*) AS "mqls_worked_1h_rate__denominator"
FROM (
  SELECT
    "t10"."person_id",
    "t10"."mql_at",
    (
      DATE_PART('epoch', "t10"."_sa_first") - DATE_PART('epoch', "t10"."mql_at")
    ) / 3600.0 AS "hours_to_first_sales_activity",
    CAST(DATE_TRUNC('MONTH', "t10"."mql_at") AS DATE) AS "period"
  FROM (
    SELECT
      "t4"."person_id",
      "t4"."mql_at",
      "t9"."_sa_person",
      "t9"."_sa_first"
    FROM (
      SELECT
        "t0"."person_id",
        "t0"."mql_at"
      FROM "people" AS "t0"
    ) AS "t4"
    LEFT OUTER JOIN (
      SELECT
        "t7"."_sa_person",
        MIN("t7"."occurred_at") AS "_sa_first"
      FROM (
        SELECT
          "t6"."_sa_person",
          "t6"."_sa_mql",
          "t2"."activity_id",
          "t2"."person_id",
          "t2"."account_id",
          "t2"."opportunity_id",
          "t2"."owner_id",
          "t2"."type",
          "t2"."occurred_at"
        FROM (
          SELECT
            "t0"."person_id" AS "_sa_person",
            "t0"."mql_at" AS "_sa_mql"
          FROM "people" AS "t0"
          WHERE
            "t0"."mql_at" IS NOT NULL
        ) AS "t6"
        INNER JOIN "sales_activities" AS "t2"
          ON "t6"."_sa_person" = "t2"."person_id" AND "t2"."occurred_at" >= "t6"."_sa_mql"
      ) AS "t7"
      GROUP BY
        1
    ) AS "t9"
      ON "t4"."person_id" = "t9"."_sa_person"
  ) AS "t10"
  WHERE
    "t10"."mql_at" IS NOT NULL
    AND "t10"."mql_at" >= TIMESTAMP_FROM_PARTS(2025, 1, 1, 0, 0, 0, 0)
    AND "t10"."mql_at" < TIMESTAMP_FROM_PARTS(2026, 1, 1, 0, 0, 0, 0)
) AS "t11"
GROUP BY
  1;
