-- Revenue periods from the ledger, typed and reduced to the month ends they can count at.
-- A period [start_date, end_date) is active at the last instant of month m when
-- start_date < first day of m+1 and (end_date is open or end_date >= first day of m+1).
-- So its first counted month is the month of start_date and its last is the month before
-- the month of end_date, whatever the day: a $100/month plan counts $100 in every month.

-- the validated ledger rows loaded by nrr.sources.ledger
with source as (
    select * from raw_ledger
),

-- the run's as-of month bounds everything: later months are not computed
parameters as (
    select as_of_idx from run_parameters
),

-- month indexes (year * 12 + month - 1) make month arithmetic integer arithmetic
bounded as (
    select
        customer_id,
        currency,
        mrr,
        churn_kind,
        {%- for dim in attributes %}
        {{ q(dim) }},
        {%- endfor %}
        start_date,
        end_date,
        year(start_date) * 12 + month(start_date) - 1 as first_month_idx,
        case
            when end_date is null then null
            else year(end_date) * 12 + month(end_date) - 2
        end as last_month_idx
    from source
    -- $0 periods (trials, free plans) carry no MRR
    where mrr > 0
),

final as (
    select
        bounded.*,
        least(coalesce(bounded.last_month_idx, parameters.as_of_idx), parameters.as_of_idx)
            as last_counted_idx
    from bounded
    cross join parameters
    where bounded.first_month_idx
        <= least(coalesce(bounded.last_month_idx, parameters.as_of_idx), parameters.as_of_idx)
)

select * from final
