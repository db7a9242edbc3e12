-- Month-over-month MRR movements per customer, classified exactly as the metric contract's
-- table reads. Both months are compared at the opening month's rate (constant currency),
-- so an exchange-rate move is never an expansion or a contraction. No row for no change.
-- Each movement carries the customer's segment (key) at its start: the previous month's for
-- an existing customer, the current month's for a new or returning one.

with parameters as (
    select * from run_parameters
),

-- months in which the customer has MRR: new, reactivation, expansion or contraction
changes as (
    select
        month_idx,
        customer_key,
        case
            when prev_idx is null then 'new'
            when prev_idx < month_idx - 1 then 'reactivation'
            when {{ at_rate_lag(none, 1) }} > prev_mrr then 'expansion'
            when {{ at_rate_lag(none, 1) }} < prev_mrr then 'contraction'
        end as movement,
        case when prev_idx = month_idx - 1 then prev_mrr else 0 end as previous_mrr,
        {{ at_rate_lag(none, 1) }} as mrr,
        null::varchar as churn_kind,
        case when prev_idx = month_idx - 1 then prev_acv_band else acv_band end as acv_band,
        case when prev_idx = month_idx - 1 then prev_segment_key else segment_key end
            as segment_key,
    from int_customer_month
),

-- the month after the last month of each run of MRR: churn (customer-level, full amount)
churns as (
    select
        month_idx + 1 as month_idx,
        customer_key,
        'churn' as movement,
        mrr as previous_mrr,
        cast(0 as decimal(18, 6)) as mrr,
        ending_kind as churn_kind,
        acv_band,
        segment_key,
    from int_customer_month
    cross join parameters
    where (next_idx is null or next_idx > month_idx + 1)
        and month_idx + 1 <= parameters.as_of_idx
),

unioned as (
    select * from changes where movement is not null
    union all
    select * from churns
),

final as (
    select
        *,
        cast(case movement
            when 'expansion' then mrr - previous_mrr
            when 'contraction' then previous_mrr - mrr
            when 'churn' then previous_mrr
            else mrr
        end as decimal(18, 6)) as amount
    from unioned
)

select * from final
