-- stage_visits by left_at (period; period only): stage_conversion_rate__numerator, stage_conversion_rate__denominator
SELECT
  "t5"."period",
  COUNT(*) FILTER(WHERE
    "t5"."stage" IN ('qualification', 'discovery', 'proposal', 'negotiation')
    AND (
      "t5"."advanced" = TRUE
    )) AS "stage_conversion_rate__numerator",
  COUNT(*) FILTER(WHERE
    "t5"."stage" IN ('qualification', 'discovery', 'proposal', 'negotiation')) AS "stage_conversion_rate__denominator"
FROM (
  SELECT
    "t4"."stage",
    "t4"."left_at",
    "t4"."advanced",
    CAST(DATE_TRUNC('MONTH', "t4"."left_at") AS DATE) AS "period"
  FROM (
    SELECT
      "t3"."opportunity_id",
      "t3"."entered_at",
      "t3"."stage",
      "t3"."amount",
      "t3"."probability",
      "t3"."left_at",
      "t3"."next_stage",
      "t3"."weighted_amount",
      "t3"."days_in_stage",
      "t3"."advanced"
    FROM (
      SELECT
        "t2"."opportunity_id",
        "t2"."entered_at",
        "t2"."stage",
        "t2"."amount",
        "t2"."probability",
        "t2"."_sv_order",
        "t2"."left_at",
        "t2"."next_stage",
        CAST("t2"."amount" AS DOUBLE PRECISION) * COALESCE("t2"."probability", 0.0) AS "weighted_amount",
        CAST(EXTRACT('epoch' FROM "t2"."left_at") - EXTRACT('epoch' FROM "t2"."entered_at") AS DOUBLE PRECISION) / 86400.0 AS "days_in_stage",
        (
          "t2"."left_at" IS NOT NULL
        )
        AND (
          "t2"."next_stage" <> 'closed_lost'
        )
        AND (
          CASE
            WHEN "t2"."next_stage" = 'qualification'
            THEN 0
            WHEN "t2"."next_stage" = 'discovery'
            THEN 1
            WHEN "t2"."next_stage" = 'proposal'
            THEN 2
            WHEN "t2"."next_stage" = 'negotiation'
            THEN 3
            WHEN "t2"."next_stage" = 'closed_won'
            THEN 4
            WHEN "t2"."next_stage" = 'closed_lost'
            THEN 5
            ELSE -1
          END > "t2"."_sv_order"
        ) AS "advanced"
      FROM (
        SELECT
          "t1"."opportunity_id",
          "t1"."entered_at",
          "t1"."stage",
          "t1"."amount",
          "t1"."probability",
          "t1"."_sv_order",
          LEAD("t1"."entered_at") OVER (
            PARTITION BY "t1"."opportunity_id"
            ORDER BY "t1"."entered_at" ASC, "t1"."_sv_order" ASC
            ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
          ) AS "left_at",
          LEAD("t1"."stage") OVER (
            PARTITION BY "t1"."opportunity_id"
            ORDER BY "t1"."entered_at" ASC, "t1"."_sv_order" ASC
            ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
          ) AS "next_stage"
        FROM (
          SELECT
            "t0"."opportunity_id",
            "t0"."entered_at",
            "t0"."stage",
            "t0"."amount",
            "t0"."probability",
            CASE
              WHEN "t0"."stage" = 'qualification'
              THEN 0
              WHEN "t0"."stage" = 'discovery'
              THEN 1
              WHEN "t0"."stage" = 'proposal'
              THEN 2
              WHEN "t0"."stage" = 'negotiation'
              THEN 3
              WHEN "t0"."stage" = 'closed_won'
              THEN 4
              WHEN "t0"."stage" = 'closed_lost'
              THEN 5
              ELSE 99
            END AS "_sv_order"
          FROM "opportunity_stages" AS "t0"
          WHERE
            "t0"."entered_at" <= CAST('2026-06-30T23:59:59.999999' AS TIMESTAMP)
        ) AS "t1"
      ) AS "t2"
    ) AS "t3"
  ) AS "t4"
  WHERE
    "t4"."left_at" IS NOT NULL
    AND "t4"."left_at" >= CAST('2025-01-01T00:00:00' AS TIMESTAMP)
    AND "t4"."left_at" < CAST('2026-01-01T00:00:00' AS TIMESTAMP)
) AS "t5"
GROUP BY
  1;
