-- Currencies of {{ table }} that only have month-specific rates, the latest of them before
-- the closed month: the engine would carry that stale rate into the close.
with used as (
    select distinct currency from {{ table }}
),

latest as (
    select
        currency,
        max(month) as latest_month,
        count(*) filter (where month is null) as constant_rates
    from raw_fx_rates
    group by currency
)

select used.currency, latest.latest_month, p.as_of as closed_month
from used
inner join latest on used.currency = latest.currency
cross join validation_parameters as p
where used.currency <> p.reporting_currency
    and latest.constant_rates = 0
    and latest.latest_month < p.as_of
order by used.currency
