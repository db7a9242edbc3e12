-- Twin (the plain reading of docs/metrics.md that the close audits the engine against):
-- the months a window can end at, every month from the first month any customer paid to
-- the closed month. Each has a company-level row per window length, even an empty one.

-- the first month with MRR (the closed month when nobody paid) and the closed month
with bounds as (
    select
        coalesce(min(month), {{ as_of }}) as first_month,
        {{ as_of }} as closed_month
    from customer_mrr_monthly
    where month <= {{ as_of }}
),

-- one row per month from the first to the closed one
final as (
    select cast(unnest(generate_series(first_month, closed_month, interval 1 month)) as date)
        as month
    from bounds
)

select * from final
