-- One row per customer spell (see int_spell_lines) with its neighbours in time: the spell
-- before it, the next spell's start, the run of consecutive paying months it belongs to
-- and the customer's first paying month (its acquisition cohort).
-- `last_mrr` / `last_line` are the spell's MRR and largest line at its last month, at that
-- month's own rate: what the month after a spell compares against.
-- In a single-currency ledger a spell's MRR is constant (`mrr`, `segment_key`); with several
-- currencies it moves with the exchange rates, month by month (int_customer_month).

-- the spell's lines at the rate of its last month
with lines as (
    select
        lines.*,
        {%- if single_currency %}
        lines.native_mrr as last_line_mrr
    from int_spell_lines as lines
        {%- else %}
        {{ convert("lines.native_mrr", "fx.rate_exact") }} as last_line_mrr
    from int_spell_lines as lines
    inner join int_fx_monthly as fx
        on lines.currency = fx.currency and lines.spell_end_idx = fx.month_idx
    {%- endif %}
),

spells as (
    select
        customer_key,
        spell_start_idx,
        spell_end_idx,
        sum(last_line_mrr) as last_mrr,
        max({{ packed_line("last_line_mrr", "segment_key") }}) as last_line,
        case
            when bool_or(ends_involuntary) then 'involuntary'
            when bool_or(ends_voluntary) then 'voluntary'
        end as ending_kind
    from lines
    group by customer_key, spell_start_idx, spell_end_idx
),

sequenced as (
    select
        *,
        lag(spell_end_idx) over by_start as prev_end_idx,
        lag(last_mrr) over by_start as prev_last_mrr,
        lag(last_line) over by_start as prev_last_line,
        lead(spell_start_idx) over by_start as next_start_idx,
        min(spell_start_idx) over (partition by customer_key) as first_month_idx
    from spells
    window by_start as (partition by customer_key order by spell_start_idx)
),

-- gaps and islands: a run starts with a spell the month before which the customer paid nothing
numbered as (
    select
        *,
        sum(case when prev_end_idx = spell_start_idx - 1 then 0 else 1 end)
            over (partition by customer_key order by spell_start_idx) as run_number
    from sequenced
),

final as (
    select
        customer_key,
        spell_start_idx,
        spell_end_idx,
        cast(last_mrr as decimal(18, 6)) as last_mrr,
        cast(last_line % 1048576 as integer) as last_segment_key,
        ending_kind,
        prev_end_idx,
        cast(prev_last_mrr as decimal(18, 6)) as prev_last_mrr,
        cast(prev_last_line % 1048576 as integer) as prev_last_segment_key,
        next_start_idx,
        cast(first_month_idx as integer) as first_month_idx,
        cast(min(spell_start_idx) over by_run as integer) as run_start_idx,
        cast(max(spell_end_idx) over by_run as integer) as run_end_idx
    from numbered
    window by_run as (partition by customer_key, run_number)
)

select * from final
