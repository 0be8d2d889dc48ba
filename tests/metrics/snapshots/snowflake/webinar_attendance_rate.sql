-- touchpoints by occurred_at (period; period only): webinar_attendance_rate__numerator, webinar_attendance_rate__denominator
SELECT
  "t13"."period",
  COUNT_IF((
    "t13"."type" = 'webinar_registration'
  ) AND (
    "t13"."attended" = TRUE
  )) AS "webinar_attendance_rate__numerator",
  COUNT_IF("t13"."type" = 'webinar_registration') AS "webinar_attendance_rate__denominator"
FROM (
  SELECT
    "t12"."touch_id",
    "t12"."type",
    "t12"."occurred_at",
    "t12"."attended",
    CAST(DATE_TRUNC('MONTH', "t12"."occurred_at") AS DATE) AS "period"
  FROM (
    SELECT
      "t11".*
      EXCLUDE ("_wa_touch")
    FROM (
      SELECT
        "t10"."touch_id",
        "t10"."type",
        "t10"."occurred_at",
        "t10"."_wa_touch",
        "t10"."_wa_touch" IS NOT NULL AS "attended"
      FROM (
        SELECT
          "t3"."touch_id",
          "t3"."type",
          "t3"."occurred_at",
          "t9"."_wa_touch"
        FROM (
          SELECT
            "t0"."touch_id",
            "t0"."type",
            "t0"."occurred_at"
          FROM "touchpoints" AS "t0"
        ) AS "t3"
        LEFT OUTER JOIN (
          SELECT DISTINCT
            *
          FROM (
            SELECT
              "t5"."touch_id" AS "_wa_touch"
            FROM (
              SELECT
                *
              FROM "touchpoints" AS "t0"
              WHERE
                "t0"."type" = 'webinar_registration'
            ) AS "t5"
            INNER JOIN (
              SELECT
                "t0"."person_id" AS "_wa_person",
                "t0"."campaign_id" AS "_wa_campaign",
                "t0"."occurred_at" AS "_wa_at"
              FROM "touchpoints" AS "t0"
              WHERE
                "t0"."type" = 'webinar_attended'
                AND "t0"."occurred_at" <= TIMESTAMP_FROM_PARTS(2026, 6, 30, 23, 59, 59, 999999000)
            ) AS "t6"
              ON "t5"."person_id" = "t6"."_wa_person"
              AND "t5"."campaign_id" IS NOT DISTINCT FROM "t6"."_wa_campaign"
              AND "t6"."_wa_at" >= "t5"."occurred_at"
          ) AS "t7"
        ) AS "t9"
          ON "t3"."touch_id" = "t9"."_wa_touch"
      ) AS "t10"
    ) AS "t11"
  ) AS "t12"
  WHERE
    "t12"."occurred_at" IS NOT NULL
    AND "t12"."occurred_at" >= TIMESTAMP_FROM_PARTS(2025, 1, 1, 0, 0, 0, 0)
    AND "t12"."occurred_at" < TIMESTAMP_FROM_PARTS(2026, 1, 1, 0, 0, 0, 0)
) AS "t13"
GROUP BY
  1;
