-- config: {{ "view" if single_currency else "table" }}
-- The backbone: one row per customer and month in which the customer has MRR > 0, built by
-- expanding spells (int_spells) to their months. A customer absent in a month has MRR 0.
-- `mrr` is in reporting currency at the month's own rate; `mrr_at_rate_lag_<n>` is the same
-- revenue at the rate of n months earlier, so an n-month comparison uses one rate (constant
-- currency: exchange-rate moves never look like expansion or churn). In a single-currency
-- ledger they equal `mrr` (a view computes them, nothing stores them).
-- The customer's segment in a month is its largest line's (the amount in cents, then the
-- segment key, packed in one 64-bit number so that max picks it).
-- With one currency this is a view: expanding spells again is cheaper than storing the
-- tens of millions of rows, and most readers need only a few columns of it.

-- spells worth the same every month (all lines in the reporting currency): the spell's MRR
-- and segment in each of its months
with constant_months as (
    select
        spells.*,
        cast(unnest(range(spells.spell_start_idx, spells.spell_end_idx + 1)) as integer)
            as month_idx,
        spells.last_mrr as mrr,
        {%- for n in windows %}
        spells.last_mrr as mrr_at_rate_lag_{{ n }},
        {%- endfor %}
        spells.last_segment_key as segment_key,
        -- the same spell the month before
        spells.last_mrr as lag_mrr,
        spells.last_segment_key as lag_segment_key
    from int_spells as spells
    {%- if not single_currency %}
    where spells.constant_value
    {%- endif %}
),
{%- if single_currency %}

valued as (
    select * from constant_months
),
{%- else %}

-- lines in other currencies: each line in each of its months, at the month's rate and at
-- each window start's rate
line_months as (
    select
        lines.customer_key,
        lines.spell_start_idx,
        lines.segment_key,
        lines.currency,
        lines.native_mrr,
        cast(unnest(range(lines.spell_start_idx, lines.spell_end_idx + 1)) as integer)
            as month_idx
    from int_spell_lines as lines
    inner join int_spells as spells
        on lines.customer_key = spells.customer_key
        and lines.spell_start_idx = spells.spell_start_idx
    where not spells.constant_value
),

converted as (
    select
        lines.*,
        {{ to_reporting_currency("lines.native_mrr", "fx.rate_exact") }} as line_mrr,
        {%- for n in windows %}
        {{ to_reporting_currency("lines.native_mrr", "fx_" ~ n ~ ".rate_exact") }}
            as line_mrr_at_rate_lag_{{ n }},
        {%- endfor %}
    from line_months as lines
    inner join int_fx_monthly as fx
        on lines.currency = fx.currency and lines.month_idx = fx.month_idx
    {%- for n in windows %}
    inner join int_fx_monthly as fx_{{ n }}
        on lines.currency = fx_{{ n }}.currency and lines.month_idx - {{ n }} = fx_{{ n }}.month_idx
    {%- endfor %}
),

customer_month as (
    select
        customer_key,
        spell_start_idx,
        month_idx,
        cast(sum(line_mrr) as decimal(18, 6)) as mrr,
        {%- for n in windows %}
        cast(sum(line_mrr_at_rate_lag_{{ n }}) as decimal(18, 6)) as mrr_at_rate_lag_{{ n }},
        {%- endfor %}
        {{ line_key("max(" ~ packed_line("line_mrr", "segment_key") ~ ")") }}
            as segment_key,
        -- the same lines at last month's rate are what the customer paid last month
        {{ line_key("max(" ~ packed_line("line_mrr_at_rate_lag_1", "segment_key") ~ ")") }}
            as lag_segment_key
    from converted
    group by customer_key, spell_start_idx, month_idx
),

valued as (
    select * from constant_months
    union all by name
    select
        spells.*,
        customer_month.* exclude (customer_key, spell_start_idx),
        customer_month.mrr_at_rate_lag_1 as lag_mrr
    from customer_month
    inner join int_spells as spells
        on customer_month.customer_key = spells.customer_key
        and customer_month.spell_start_idx = spells.spell_start_idx
),
{%- endif %}

-- the previous and next paying months: inside the spell, or across its edges
neighbours as (
    select
        customer_key,
        month_idx,
        mrr,
        {%- for n in windows %}
        mrr_at_rate_lag_{{ n }},
        {%- endfor %}
        segment_key,
        case when month_idx = spell_end_idx then ending_kind end as ending_kind,
        case when month_idx > spell_start_idx then month_idx - 1 else prev_end_idx end
            as prev_idx,
        case when month_idx > spell_start_idx then lag_mrr else prev_last_mrr end as prev_mrr,
        case
            when month_idx > spell_start_idx then lag_segment_key
            when prev_end_idx = month_idx - 1 then prev_last_segment_key
        end as prev_segment_key,
        case when month_idx < spell_end_idx then month_idx + 1 else next_start_idx end
            as next_idx,
        spell_start_idx,
        spell_end_idx,
        run_start_idx,
        run_end_idx,
        first_month_idx
    from valued
),

final as (
    select
        neighbours.*,
        {{ acv_band("neighbours.mrr") }} as acv_band,
        case
            when prev_idx = month_idx - 1 then {{ acv_band("neighbours.prev_mrr") }}
        end as prev_acv_band
    from neighbours
    cross join run_parameters as parameters
)

select * from final
