-- Twin, metrics.md sections 3 and 4: every window's figures, summed member by member in
-- the segment each member had at m0 (a customer never moves between segments inside a
-- window), for the company and every dimension. NRR and GRR by their formulas.

{%- from "macros.sql" import retention_amounts, nrr, grr %}

-- each member's amounts (the contract's per-customer netting)
with members as (
    select
        *,
        {{ retention_amounts("start_c", "end_c") }}
    from twin_window_members
),

-- each member in every segment it had at m0
counted as (
    select members.*, segments.dimension, segments.segment
    from members
    inner join twin_customer_segments as segments
        on segments.customer_id = members.customer_id and segments.month = members.start_month
),

-- the sums per window and segment
summed as (
    select
        as_of,
        window_months,
        dimension,
        segment,
        count(*) as cohort_customers,
        sum(retained_customers) as retained_customers,
        sum(start_c) as start_mrr,
        sum(expansion) as expansion,
        sum(contraction) as contraction,
        sum(churn) as churn,
        sum(reactivated_c) as reactivated_mrr
    from counted
    group by all
),

-- every month has a company-level row per window, even with an empty cohort
company_spine as (
    select
        months.month as as_of,
        lengths.window_months,
        'all' as dimension,
        'all' as segment
    from twin_months as months
    cross join (select unnest([{{ windows | join(", ") }}]) as window_months) as lengths
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
