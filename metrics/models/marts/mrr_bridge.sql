-- The MRR bridge per month and segment, built from two independent paths so that it checks
-- the movements: opening and closing MRR come from the customer-month backbone, the movement
-- totals from int_mrr_movements. It must hold to the cent:
--   opening + new + reactivation + expansion - contraction - churn = closing_mrr_constant
-- where closing_mrr_constant is the closing MRR at the opening month's rates; fx_adjustment
-- then moves it to the month's own rates (0 in a single-currency business).
-- A customer counts in the segment it was in at the opening (new customers: at the closing).

{%- from "macros.sql" import running_totals %}

with parameters as (
    select * from run_parameters
),

history as (
    select month_idx from int_months where in_history
),

-- opening MRR (last month's, in last month's segment) and closing MRR (this month's, at last
-- month's rates and at its own) per month, ACV band and segment key
{%- if single_currency %}
-- (one currency: a spell adds the same amounts to each of its months, summed as ranges)
balance_ranges as (
    -- opening: in the month after each month of the spell
    select
        spell_start_idx + 1 as first_idx,
        spell_end_idx + 1 as last_idx,
        {{ acv_band("spells.last_mrr") }} as acv_band,
        last_segment_key as segment_key,
        last_mrr as opening_mrr,
        0 as closing_mrr_constant,
        0 as closing_mrr
    from int_spells as spells
    cross join parameters
    union all
    -- closing in the spell's first month: in last month's segment if the customer paid then
    select
        spell_start_idx,
        spell_start_idx,
        case
            when prev_end_idx = spell_start_idx - 1 then {{ acv_band("spells.prev_last_mrr") }}
            else {{ acv_band("spells.last_mrr") }}
        end,
        case
            when prev_end_idx = spell_start_idx - 1 then prev_last_segment_key
            else last_segment_key
        end,
        0,
        last_mrr,
        last_mrr
    from int_spells as spells
    cross join parameters
    union all
    -- closing in its later months
    select
        spell_start_idx + 1,
        spell_end_idx,
        {{ acv_band("spells.last_mrr") }},
        last_segment_key,
        0,
        last_mrr,
        last_mrr
    from int_spells as spells
    cross join parameters
    where spell_end_idx > spell_start_idx
),

balances as (
    select idx as month_idx, * exclude (idx)
    from {{ running_totals(
        "balance_ranges", "first_idx", "last_idx", ["acv_band", "segment_key"],
        ["opening_mrr", "closing_mrr_constant", "closing_mrr"],
        "(select as_of_idx from run_parameters)",
    ) }}
),
{%- else %}
balances as (
    select
        backbone.month_idx + 1 as month_idx,
        backbone.acv_band,
        backbone.segment_key,
        backbone.mrr as opening_mrr
    from int_customer_month as backbone
    cross join parameters
    where backbone.month_idx + 1 <= parameters.as_of_idx
    union all by name
    select
        month_idx,
        case when prev_idx = month_idx - 1 then prev_acv_band else acv_band end as acv_band,
        case when prev_idx = month_idx - 1 then prev_segment_key else segment_key end
            as segment_key,
        mrr_at_rate_lag_1 as closing_mrr_constant,
        mrr as closing_mrr
    from int_customer_month
),
{%- endif %}

movements as (
    select
        month_idx,
        acv_band,
        segment_key,
        case when movement = 'new' then amount end as new,
        case when movement = 'reactivation' then amount end as reactivation,
        case when movement = 'expansion' then amount end as expansion,
        case when movement = 'contraction' then amount end as contraction,
        case when movement = 'churn' then amount end as churn
    from int_mrr_movements
),

unioned as (
    select * from balances
    union all by name
    select * from movements
),

-- summed per month, ACV band and segment key once (numbers only: cheap)
fine as (
    select
        month_idx,
        acv_band,
        segment_key,
        sum(opening_mrr) as opening_mrr,
        sum(new) as new,
        sum(reactivation) as reactivation,
        sum(expansion) as expansion,
        sum(contraction) as contraction,
        sum(churn) as churn,
        sum(closing_mrr_constant) as closing_mrr_constant,
        sum(closing_mrr) as closing_mrr
    from unioned
    group by month_idx, acv_band, segment_key
),

-- the segment texts, from the small segments table; the dimensions roll up from here
labelled as (
    select
        fine.month_idx,
        {{ segment_columns() }},
        fine.* exclude (month_idx, acv_band, segment_key)
    from fine
    inner join int_segments as segments on fine.segment_key = segments.segment_key
),

grouped as (
    select
        month_idx,
        {{ dimension_label() }} as dimension,
        {{ segment_label() }} as segment,
        coalesce(sum(opening_mrr), 0) as opening_mrr,
        coalesce(sum(new), 0) as new,
        coalesce(sum(reactivation), 0) as reactivation,
        coalesce(sum(expansion), 0) as expansion,
        coalesce(sum(contraction), 0) as contraction,
        coalesce(sum(churn), 0) as churn,
        coalesce(sum(closing_mrr_constant), 0) as closing_mrr_constant,
        coalesce(sum(closing_mrr), 0) as closing_mrr
    from labelled
    group by grouping sets ({{ grouping_sets("month_idx") }})
),

final as (
    select
        {{ month_date("grouped.month_idx") }} as month,
        dimension,
        segment,
        cast(opening_mrr as double) as opening_mrr,
        cast(new as double) as new,
        cast(reactivation as double) as reactivation,
        cast(expansion as double) as expansion,
        cast(contraction as double) as contraction,
        cast(churn as double) as churn,
        cast(closing_mrr_constant as double) as closing_mrr_constant,
        cast(closing_mrr - closing_mrr_constant as double) as fx_adjustment,
        cast(closing_mrr as double) as closing_mrr,
        cast(
            opening_mrr + new + reactivation + expansion - contraction - churn
            - closing_mrr_constant as double
        ) as difference
    from grouped
    inner join history on grouped.month_idx = history.month_idx
)

select * from final
