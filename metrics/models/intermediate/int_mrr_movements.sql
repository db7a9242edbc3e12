-- Month-over-month MRR movements per customer, classified exactly as the metric contract's
-- table reads. Both months are compared at the opening month's rate (constant currency),
-- so an exchange-rate move is never an expansion or a contraction. No row for no change.
-- Each movement carries the customer's segment (key) at its start: the previous month's for
-- an existing customer, the current month's for a new or returning one.
-- What a customer pays only changes where a spell starts (int_spells), and it churns the
-- month after a run of paying months ends, so movements are read from spells, not months.

with parameters as (
    select * from run_parameters
),

-- a spell's first month: new, reactivation, expansion or contraction
changes as (
    select
        spell_start_idx as month_idx,
        customer_key,
        case
            when prev_end_idx is null then 'new'
            when prev_end_idx < spell_start_idx - 1 then 'reactivation'
            when first_mrr_at_rate_lag_1 > prev_last_mrr then 'expansion'
            when first_mrr_at_rate_lag_1 < prev_last_mrr then 'contraction'
        end as movement,
        case when prev_end_idx = spell_start_idx - 1 then prev_last_mrr else 0 end
            as previous_mrr,
        first_mrr_at_rate_lag_1 as mrr,
        null::varchar as churn_kind,
        case
            when prev_end_idx = spell_start_idx - 1 then {{ acv_band("spells.prev_last_mrr") }}
            else {{ acv_band("spells.first_mrr") }}
        end as acv_band,
        case
            when prev_end_idx = spell_start_idx - 1 then prev_last_segment_key
            else first_segment_key
        end as segment_key,
    from int_spells as spells
    cross join parameters
),

-- the month after the last month of each run of MRR: churn (customer-level, full amount)
churns as (
    select
        spell_end_idx + 1 as month_idx,
        customer_key,
        'churn' as movement,
        last_mrr as previous_mrr,
        cast(0 as decimal(18, 6)) as mrr,
        ending_kind as churn_kind,
        {{ acv_band("spells.last_mrr") }} as acv_band,
        last_segment_key as segment_key,
    from int_spells as spells
    cross join parameters
    where spell_end_idx = run_end_idx
        and spell_end_idx + 1 <= parameters.as_of_idx
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
