-- Twin, metrics.md section 4: every acquisition cohort at every age it has reached, summed
-- member by member; NRR = what the members pay under the policy / what they paid at k.

{%- from "macros.sql" import retention_amounts, nrr, grr %}

-- each member's amounts (the contract's per-customer netting)
with members as (
    select
        *,
        {{ retention_amounts("start_c", "end_c") }}
    from twin_cohort_members
),

-- the sums per cohort and age
summed as (
    select
        cohort_month,
        age_months,
        count(*) as customers,
        sum(start_c) as start_mrr,
        sum(end_c) as mrr,
        sum(retained_customers) as retained_customers,
        sum(expansion) as expansion,
        sum(contraction) as contraction,
        sum(churn) as churn,
        sum(reactivated_c) as reactivated_mrr
    from members
    group by all
),

-- NRR and GRR by their formulas
final as (
    select
        *,
        {{ nrr("start_mrr", "expansion", "contraction", "churn") }} as nrr,
        {{ grr("start_mrr", "contraction", "churn") }} as grr
    from summed
)

select * from final
