-- Customer-month MRR, compactly: one row per customer and month with MRR > 0, its segment
-- as a key into customer_segments. customer_mrr_monthly is the readable view over both.
-- `month` is the first day of the month; `mrr` is in reporting currency at that month's
-- rate, as of the month's last instant; `cohort_month` is the customer's first paying month.

with backbone as (
    select * from int_customer_month
),

final as (
    select
        {{ month_date("backbone.month_idx") }} as month,
        backbone.customer_id,
        cast(backbone.mrr as double) as mrr,
        backbone.segment_key,
        {{ month_date("backbone.first_month_idx") }} as cohort_month
    from backbone
)

select * from final
