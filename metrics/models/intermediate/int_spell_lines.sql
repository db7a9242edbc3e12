-- Spells: the months in which a customer's set of active revenue periods does not change.
-- A customer's MRR (in native currency, per line) is constant within a spell, so every
-- neighbour in time (previous month, run of consecutive months, the month n ahead) can be
-- worked out once per spell instead of once per customer-month: a few million rows instead
-- of tens of millions. A line is one segment key (currency + attribute values) in a spell;
-- several subscriptions, add-ons and seats add up, however the periods are split into rows.

-- periods with the integer customer and segment keys
with periods as (
    select
        customers.customer_key,
        segments.segment_key,
        periods.currency,
        periods.mrr,
        periods.churn_kind,
        periods.first_month_idx,
        periods.last_counted_idx,
        periods.last_month_idx
    from stg_ledger__revenue_periods as periods
    inner join int_customers as customers on periods.customer_id = customers.customer_id
    inner join int_segments as segments
        on periods.currency = segments.currency
        {%- for dim in attributes %}
        and periods.{{ q(dim) }} is not distinct from segments.{{ q(dim) }}
        {%- endfor %}
),

-- the months at which what a customer pays can change: a period starts, or one ended
boundaries as (
    select customer_key, first_month_idx as boundary_idx from periods
    union
    select customer_key, last_counted_idx + 1 from periods
),

-- consecutive boundaries delimit the candidate spells
candidates as (
    select
        customer_key,
        boundary_idx as spell_start_idx,
        lead(boundary_idx) over (partition by customer_key order by boundary_idx) - 1
            as spell_end_idx
    from boundaries
),

-- the periods active over each spell (a candidate no period covers is a gap, and dropped)
final as (
    select
        candidates.customer_key,
        cast(candidates.spell_start_idx as integer) as spell_start_idx,
        cast(candidates.spell_end_idx as integer) as spell_end_idx,
        periods.segment_key,
        periods.currency,
        cast(sum(periods.mrr) as decimal(18, 6)) as native_mrr,
        -- the reason this revenue stops after the spell's last month, where the source knows it
        bool_or(
            periods.last_month_idx = candidates.spell_end_idx and periods.churn_kind = 'involuntary'
        ) as ends_involuntary,
        bool_or(
            periods.last_month_idx = candidates.spell_end_idx and periods.churn_kind = 'voluntary'
        ) as ends_voluntary
    from candidates
    inner join periods
        on candidates.customer_key = periods.customer_key
        and periods.first_month_idx <= candidates.spell_start_idx
        and periods.last_counted_idx >= candidates.spell_start_idx
    where candidates.spell_end_idx is not null
    group by all
)

select * from final
