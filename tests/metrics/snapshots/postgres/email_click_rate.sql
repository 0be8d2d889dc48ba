-- email_sends by sent_at (period; period only): email_click_rate__numerator, email_click_rate__denominator
SELECT
  "t2"."period",
  COUNT(*) FILTER(WHERE
    (
      "t2"."delivered" = TRUE
    ) AND (
      "t2"."clicked" = TRUE
    )) AS "email_click_rate__numerator",
  COUNT(*) FILTER(WHERE
    "t2"."delivered" = TRUE) AS "email_click_rate__denominator"
FROM (
  SELECT
    "t1"."sent_at",
    "t1"."delivered",
    "t1"."clicked",
    CAST(DATE_TRUNC('MONTH', "t1"."sent_at") AS DATE) AS "period"
  FROM (
    SELECT
      "t0"."email_id",
      "t0"."person_id",
      MAX("t0"."campaign_id") AS "campaign_id",
      COALESCE(
        MIN("t0"."occurred_at") FILTER(WHERE
          "t0"."type" = 'sent'),
        MIN("t0"."occurred_at")
      ) AS "sent_at",
      BOOL_OR("t0"."type" = 'delivered') AS "delivered",
      BOOL_OR("t0"."type" = 'open') AS "opened",
      BOOL_OR("t0"."type" = 'click') AS "clicked"
    FROM "email_events" AS "t0"
    GROUP BY
      1,
      2
  ) AS "t1"
  WHERE
    "t1"."sent_at" IS NOT NULL
    AND "t1"."sent_at" >= CAST('2025-01-01T00:00:00' AS TIMESTAMP)
    AND "t1"."sent_at" < CAST('2026-01-01T00:00:00' AS TIMESTAMP)
) AS "t2"
GROUP BY
  1;
