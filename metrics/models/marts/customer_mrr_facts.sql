-- Customer-month MRR, compactly: one row per customer and month with MRR > 0, the customer
-- as its key into customer_cohorts and its segment as a key into customer_segments.
-- customer_mrr_monthly is the readable view over the three. `month` is the first day of the
-- month; `mrr` is in reporting currency at that month's rate, as of the month's last instant.

with backbone as (
    select * from int_customer_month
),

final as (
    select
        {{ month_date("backbone.month_idx") }} as month,
        backbone.customer_key,
        cast(backbone.mrr as double) as mrr,
        backbone.segment_key
    from backbone
)

select * from final
