-- Twin, metrics.md sections 3 and 4: the figures of every window ending at the closed
-- month, summed member by member, for the company and grouped by each member's segment as of m0 (its ACV band and each
-- configured dimension). NRR and GRR by their formulas.

{%- from "macros.sql" import retention_amounts, nrr, grr %}
{%- set grouped = ["acv_band"] + dimensions | list %}

-- each member's amounts (the contract's per-customer netting)
with members as (
    select
        *,
        {{ retention_amounts("start_c", "end_c") }}
    from twin_window_members
),

-- the sums per window: for the company, and per segment of each dimension
summed as (
    select
        as_of,
        window_months,
        case
            {%- for col in grouped %}
            when grouping({{ q(col) }}) = 0 then {{ literal(col) }}
            {%- endfor %}
            else 'all'
        end as dimension,
        case
            {%- for col in grouped %}
            when grouping({{ q(col) }}) = 0 then {{ q(col) }}
            {%- endfor %}
            else 'all'
        end as segment,
        count(*) as cohort_customers,
        sum(retained_customers) as retained_customers,
        sum(start_c) as start_mrr,
        sum(expansion) as expansion,
        sum(contraction) as contraction,
        sum(churn) as churn,
        sum(reactivated_c) as reactivated_mrr
    from members
    group by grouping sets (
        (as_of, window_months)
        {%- for col in grouped %},
        (as_of, window_months, {{ q(col) }})
        {%- endfor %}
    )
),

-- the closed month has a company-level row per window, even with an empty cohort
company_spine as (
    select
        {{ as_of }} as as_of,
        unnest([{{ windows | join(", ") }}]) as window_months,
        'all' as dimension,
        'all' as segment
),

windows as (
    select
        spine.*,
        coalesce(summed.cohort_customers, 0) as cohort_customers,
        coalesce(summed.retained_customers, 0) as retained_customers,
        coalesce(summed.start_mrr, 0) as start_mrr,
        coalesce(summed.expansion, 0) as expansion,
        coalesce(summed.contraction, 0) as contraction,
        coalesce(summed.churn, 0) as churn,
        coalesce(summed.reactivated_mrr, 0) as reactivated_mrr
    from company_spine as spine
    left join summed using (as_of, window_months, dimension, segment)
    union all
    select * from summed where dimension <> 'all'
),

-- NRR and GRR (null for an empty cohort)
final as (
    select
        *,
        {{ nrr("start_mrr", "expansion", "contraction", "churn") }} as nrr,
        {{ grr("start_mrr", "contraction", "churn") }} as grr
    from windows
)

select * from final
