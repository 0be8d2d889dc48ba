-- opportunities by closed_at (period; period only): win_rate__numerator, win_rate__denominator
SELECT
  "t1"."period",
  COUNT(*) FILTER(WHERE
    (
      "t1"."is_closed" = TRUE
    ) AND (
      "t1"."is_won" = TRUE
    )) AS "win_rate__numerator",
  COUNT(*) FILTER(WHERE
    "t1"."is_closed" = TRUE) AS "win_rate__denominator"
FROM (
  SELECT
    "t0"."closed_at",
    "t0"."is_closed",
    "t0"."is_won",
    CAST(DATE_TRUNC('MONTH', "t0"."closed_at") AS DATE) AS "period"
  FROM "opportunities" AS "t0"
  WHERE
    "t0"."closed_at" IS NOT NULL
    AND "t0"."closed_at" >= MAKE_TIMESTAMP(2025, 1, 1, 0, 0, 0.0)
    AND "t0"."closed_at" < MAKE_TIMESTAMP(2026, 1, 1, 0, 0, 0.0)
) AS "t1"
GROUP BY
  1;
