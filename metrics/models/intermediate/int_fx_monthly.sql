-- One rate per currency and month: the latest month-specific rate at or before the month,
-- else the rate without a month, else the earliest month-specific rate (months before the
-- first rate given take the first rate). The reporting currency is always 1.
-- A currency with no rate at all keeps a null rate; the engine stops on it with a clear error.

-- the currencies the ledger uses
with currencies as (
    select distinct currency from stg_ledger__revenue_periods
),

grid as (
    select currencies.currency, int_months.month_idx
    from currencies
    cross join int_months
),

monthly as (
    select currency, month_idx, rate from stg_fx__rates where month_idx is not null
),

constant as (
    select currency, any_value(rate) as rate from stg_fx__rates where month_idx is null
    group by currency
),

-- the first month-specific rate, used for months before it
earliest as (
    select currency, arg_min(rate, month_idx) as rate from monthly group by currency
),

latest_at_or_before as (
    select grid.currency, grid.month_idx, monthly.rate
    from grid
    asof left join monthly
        on grid.currency = monthly.currency and grid.month_idx >= monthly.month_idx
),

final as (
    select
        resolved.currency,
        resolved.month_idx,
        case
            when resolved.currency = parameters.reporting_currency then 1.0
            else coalesce(resolved.rate, constant.rate, earliest.rate)
        end as rate,
        cast(
            case
                when resolved.currency = parameters.reporting_currency then 1.0
                else coalesce(resolved.rate, constant.rate, earliest.rate)
            end as decimal(18, 10)
        ) as rate_exact
    from latest_at_or_before as resolved
    cross join run_parameters as parameters
    left join constant on resolved.currency = constant.currency
    left join earliest on resolved.currency = earliest.currency
)

select * from final
