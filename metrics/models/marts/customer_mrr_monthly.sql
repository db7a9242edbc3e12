-- Customer-month MRR: what every other figure is built from, one row per customer and month
-- with MRR > 0 (a customer absent in a month has MRR 0). `month` is the first day of the
-- month; `mrr` is in reporting currency at that month's rate, as of the month's last instant.

with backbone as (
    select * from int_customer_month
),

final as (
    select
        {{ month_date("backbone.month_idx") }} as month,
        backbone.customer_id,
        cast(backbone.mrr as double) as mrr,
        segments.currency,
        {%- for dim in attributes %}
        segments.{{ q(dim) }},
        {%- endfor %}
        backbone.acv_band,
        {{ month_date("backbone.first_month_idx") }} as cohort_month
    from backbone
    inner join int_segments as segments on backbone.segment_key = segments.segment_key
)

select * from final
