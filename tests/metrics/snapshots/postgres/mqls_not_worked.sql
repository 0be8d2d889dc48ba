-- people by mql_at (period; period only): mqls_not_worked
SELECT
  "t11"."period",
  COUNT(*) FILTER(WHERE
    "t11"."first_sales_activity_at" IS NULL) AS "mqls_not_worked"
FROM (
  SELECT
    "t10"."person_id",
    "t10"."mql_at",
    "t10"."_sa_first" AS "first_sales_activity_at",
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
    AND "t10"."mql_at" >= CAST('2025-01-01T00:00:00' AS TIMESTAMP)
    AND "t10"."mql_at" < CAST('2026-01-01T00:00:00' AS TIMESTAMP)
) AS "t11"
GROUP BY
  1;
