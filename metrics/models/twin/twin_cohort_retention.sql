-- Twin, metrics.md section 4: every acquisition cohort at every age it has reached, summed
-- member by member; NRR = what the members pay under the policy / what they paid at k.
-- A member without a row at an age (twin_cohort_members lists those paying) is churned
-- there: end_c = 0, so its whole start_c is churn.

{%- from "macros.sql" import retention_amounts, nrr, grr %}

-- each cohort's members and what they paid at k
with cohorts as (
    select month as cohort_month, count(*) as customers, sum(mrr) as start_mrr
    from twin_customer_mrr
    where paying_months = 1
    group by all
),

-- every age each cohort has reached, up to the closed month
cells as (
    select
        cohorts.*,
        cast(datediff('month', cohorts.cohort_month, months.month) as integer) as age_months
    from cohorts
    inner join twin_months as months on months.month >= cohorts.cohort_month
),

-- each paying member's amounts (the contract's per-customer netting)
members as (
    select
        *,
        {{ retention_amounts("start_c", "end_c") }}
    from twin_cohort_members
),

-- the sums per cohort and age over the members paying then; start_c kept by a member with
-- end_c > 0 (what is not kept is churned)
paid as (
    select
        cohort_month,
        age_months,
        sum(end_c) as mrr,
        sum(retained_customers) as retained_customers,
        sum(expansion) as expansion,
        sum(contraction) as contraction,
        coalesce(sum(start_c) filter (where end_c > 0), 0) as kept_start,
        sum(reactivated_c) as reactivated_mrr
    from members
    group by all
),

summed as (
    select
        cells.cohort_month,
        cells.age_months,
        cells.customers,
        cells.start_mrr,
        coalesce(paid.mrr, 0) as mrr,
        coalesce(paid.retained_customers, 0) as retained_customers,
        coalesce(paid.expansion, 0) as expansion,
        coalesce(paid.contraction, 0) as contraction,
        cells.start_mrr - coalesce(paid.kept_start, 0) as churn,
        coalesce(paid.reactivated_mrr, 0) as reactivated_mrr
    from cells
    left join paid using (cohort_month, age_months)
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
