-- opportunities by closed_at (period; period only): sales_cycle_days__n, sales_cycle_days
SELECT
  "t1"."period",
  COUNT(
    IFF(
      "t1"."is_won" = TRUE,
      CAST(DATE_PART('epoch', "t1"."closed_at") - DATE_PART('epoch', "t1"."created_at") AS DOUBLE) / 86400.0,
      NULL
    )
  ) AS "sales_cycle_days__n",
  MEDIAN(
    IFF(
      "t1"."is_won" = TRUE,
      CAST(DATE_PART('epoch', "t1"."closed_at") - DATE_PART('epoch', "t1"."created_at") AS DOUBLE) / 86400.0,
      CAST(NULL AS DOUBLE)
    )
  ) AS "sales_cycle_days"
FROM (
  SELECT
    "t0"."created_at",
    "t0"."closed_at",
    "t0"."is_won",
    CAST(DATE_TRUNC('MONTH', "t0"."closed_at") AS DATE) AS "period"
  FROM "opportunities" AS "t0"
  WHERE
    "t0"."closed_at" IS NOT NULL
    AND "t0"."closed_at" >= TIMESTAMP_FROM_PARTS(2025, 1, 1, 0, 0, 0, 0)
    AND "t0"."closed_at" < TIMESTAMP_FROM_PARTS(2026, 1, 1, 0, 0, 0, 0)
) AS "t1"
GROUP BY
  1;
