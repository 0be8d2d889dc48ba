-- people by mql_at (period; period only): speed_to_lead_hours__n, speed_to_lead_hours
SELECT
  "t12"."period",
  COUNT(
    CAST(EXTRACT('epoch' FROM "t12"."first_sales_activity_at") - EXTRACT('epoch' FROM "t12"."mql_at") AS DOUBLE PRECISION) / 3600.0
  ) AS "speed_to_lead_hours__n",
  PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY
    CAST(EXTRACT('epoch' FROM "t12"."first_sales_activity_at") - EXTRACT('epoch' FROM "t12"."mql_at") AS DOUBLE PRECISION) / 3600.0) AS "speed_to_lead_hours"
FROM (
  SELECT
    "t11"."person_id",
    "t11"."mql_at",
    "t11"."_sa_first" AS "first_sales_activity_at",
    CAST(DATE_TRUNC('MONTH', "t11"."mql_at") AS DATE) AS "period"
  FROM (
    SELECT
      "t3"."person_id",
      "t3"."mql_at",
      "t10"."_sa_person",
      "t10"."_sa_first"
    FROM (
      SELECT
        "t0"."person_id",
        "t0"."mql_at"
      FROM "people" AS "t0"
    ) AS "t3"
    LEFT OUTER JOIN (
      SELECT
        "t8"."_sa_person",
        MIN("t8"."occurred_at") AS "_sa_first"
      FROM (
        SELECT
          "t6"."_sa_person",
          "t6"."_sa_mql",
          "t7"."activity_id",
          "t7"."person_id",
          "t7"."account_id",
          "t7"."opportunity_id",
          "t7"."owner_id",
          "t7"."type",
          "t7"."occurred_at"
        FROM (
          SELECT
            "t0"."person_id" AS "_sa_person",
            "t0"."mql_at" AS "_sa_mql"
          FROM "people" AS "t0"
          WHERE
            "t0"."mql_at" IS NOT NULL
        ) AS "t6"
        INNER JOIN (
          SELECT
            *
          FROM "sales_activities" AS "t1"
          WHERE
            "t1"."occurred_at" <= CAST('2026-06-30T23:59:59.999999' AS TIMESTAMP)
        ) AS "t7"
          ON "t6"."_sa_person" = "t7"."person_id" AND "t7"."occurred_at" >= "t6"."_sa_mql"
      ) AS "t8"
      GROUP BY
        1
    ) AS "t10"
      ON "t3"."person_id" = "t10"."_sa_person"
  ) AS "t11"
  WHERE
    "t11"."mql_at" IS NOT NULL
    AND "t11"."mql_at" >= CAST('2025-01-01T00:00:00' AS TIMESTAMP)
    AND "t11"."mql_at" < CAST('2026-01-01T00:00:00' AS TIMESTAMP)
) AS "t12"
GROUP BY
  1;
