-- Exchange rates as given by the user: units of reporting currency per unit of currency.
-- Month-specific rates carry a month index; rates without a month hold for every month.

-- the rates file and inline rates loaded by nrr.sources.fx
with source as (
    select * from raw_fx_rates
),

final as (
    select
        currency,
        rate,
        case when month is null then null else year(month) * 12 + month(month) - 1 end
            as month_idx
    from source
)

select * from final
