-- Twin: the segments a customer is counted in at a month, one row per dimension: the
-- company ('all'), its ACV band and each configured attribute, as customer_mrr_monthly
-- publishes them for that month (a missing value is the segment '(none)').

-- the published customer-months up to the closed month
with customer_month as (
    select *
    from customer_mrr_monthly
    where month <= {{ as_of }} and mrr > 0
),

-- one row per dimension
final as (
    select
        customer_id,
        month,
        counted_in.dimension,
        counted_in.segment
    from (
        select
            customer_id,
            month,
            unnest([
                {'dimension': 'all', 'segment': 'all'},
                {'dimension': 'acv_band', 'segment': acv_band},
                {%- for dim in dimensions %}
                {'dimension': {{ literal(dim) }},
                 'segment': coalesce(cast({{ q(dim) }} as varchar), '(none)')},
                {%- endfor %}
            ]) as counted_in
        from customer_month
    )
)

select * from final
