-- One row per customer spell (see int_spell_lines) with its neighbours in time: the spell
-- before it, the next spell's start, the run of consecutive paying months it belongs to
-- and the customer's first paying month (its acquisition cohort).
-- `last_mrr` / `last_segment_key` are the spell's MRR and segment at its last month, at that
-- month's own rate: what the month after a spell compares against; `first_*` the same at its
-- first month, and `first_mrr_at_rate_lag_1` that month's MRR at the previous month's rate.
-- A spell's MRR is constant (`constant_value`) when all its lines are in the reporting
-- currency; a spell with lines in other currencies moves with the exchange rates, month by
-- month (int_customer_month).

-- each line at the rate of the spell's last month, of its first month and of the month
-- before that (what the first month's movement compares at)
with lines as (
    select
        lines.*,
        {%- if single_currency %}
        lines.native_mrr as last_line_mrr,
        lines.native_mrr as first_line_mrr,
        lines.native_mrr as before_line_mrr
    from int_spell_lines as lines
        {%- else %}
        {{ to_reporting_currency("lines.native_mrr", "fx_last.rate_exact") }} as last_line_mrr,
        {{ to_reporting_currency("lines.native_mrr", "fx_first.rate_exact") }} as first_line_mrr,
        {{ to_reporting_currency("lines.native_mrr", "fx_before.rate_exact") }} as before_line_mrr
    from int_spell_lines as lines
    inner join int_fx_monthly as fx_last
        on lines.currency = fx_last.currency and lines.spell_end_idx = fx_last.month_idx
    inner join int_fx_monthly as fx_first
        on lines.currency = fx_first.currency and lines.spell_start_idx = fx_first.month_idx
    inner join int_fx_monthly as fx_before
        on lines.currency = fx_before.currency and lines.spell_start_idx - 1 = fx_before.month_idx
    {%- endif %}
),

spells as (
    select
        customer_key,
        spell_start_idx,
        spell_end_idx,
        sum(last_line_mrr) as last_mrr,
        max({{ packed_line("last_line_mrr", "segment_key") }}) as last_line,
        {%- if single_currency %}
        -- (one currency: the spell's first month is like its last)
        sum(last_line_mrr) as first_mrr,
        sum(last_line_mrr) as first_mrr_at_rate_lag_1,
        max({{ packed_line("last_line_mrr", "segment_key") }}) as first_line,
        true as constant_value,
        {%- else %}
        sum(first_line_mrr) as first_mrr,
        sum(before_line_mrr) as first_mrr_at_rate_lag_1,
        max({{ packed_line("first_line_mrr", "segment_key") }}) as first_line,
        -- only lines in the reporting currency: worth the same in every month
        bool_and(currency = (select reporting_currency from run_parameters)) as constant_value,
        {%- endif %}
        -- (both kinds ending together: involuntary wins, see the churn_kind macro)
        {{ churn_kind("ends_involuntary", "ends_voluntary") }} as ending_kind
    from lines
    group by customer_key, spell_start_idx, spell_end_idx
),

-- one sort per customer gives every neighbour (two passes over it: runs need both edges)
sequenced as (
    select
        *,
        lag(spell_end_idx) over by_start as prev_end_idx,
        lag(last_mrr) over by_start as prev_last_mrr,
        lag(last_line) over by_start as prev_last_line,
        lead(spell_start_idx) over by_start as next_start_idx,
        first_value(spell_start_idx) over by_start as first_month_idx
    from spells
    window by_start as (partition by customer_key order by spell_start_idx)
),

-- gaps and islands: a run of paying months starts with a spell the month before which the
-- customer paid nothing, and ends with one the month after which it pays nothing
runs as (
    select
        *,
        max(
            case when prev_end_idx = spell_start_idx - 1 then null else spell_start_idx end
        ) over (by_start rows between unbounded preceding and current row) as run_start_idx,
        min(
            case when next_start_idx = spell_end_idx + 1 then null else spell_end_idx end
        ) over (by_start rows between current row and unbounded following) as run_end_idx
    from sequenced
    window by_start as (partition by customer_key order by spell_start_idx)
),

final as (
    select
        runs.customer_key,
        spell_start_idx,
        spell_end_idx,
        cast(last_mrr as decimal(18, 6)) as last_mrr,
        {{ line_key("last_line") }} as last_segment_key,
        cast(first_mrr as decimal(18, 6)) as first_mrr,
        cast(first_mrr_at_rate_lag_1 as decimal(18, 6)) as first_mrr_at_rate_lag_1,
        {{ line_key("first_line") }} as first_segment_key,
        constant_value,
        ending_kind,
        prev_end_idx,
        cast(prev_last_mrr as decimal(18, 6)) as prev_last_mrr,
        {{ line_key("prev_last_line") }} as prev_last_segment_key,
        next_start_idx,
        cast(first_month_idx as integer) as first_month_idx,
        cast(run_start_idx as integer) as run_start_idx,
        cast(run_end_idx as integer) as run_end_idx
    from runs
)

select * from final
