-- Acquisition-cohort retention: the cohort of month k is every customer whose first month
-- with MRR > 0 is k. At age n, each member's MRR at k + n is compared with its MRR at k,
-- under the run's reactivation policy (a member that left and came back counts as churned
-- under `exclude`), both at the rate of month k. Every cohort has a row for every age up to
-- the as-of month, so a cohort that lost everyone shows 0, not a missing cell.

{%- from "macros.sql" import running_totals %}

with parameters as (
    select * from run_parameters
),

-- every member of every cohort, spell by spell (see int_cohort_members)
members as (
    select * from int_cohort_members
),

-- each cohort's size and start MRR: its members' first spells
cohorts as (
    select cohort_idx, count(*) as customers, sum(start_c) as start_mrr
    from members
    where first_age = 0
    group by cohort_idx
),

contributions as (
    select
        cohort_idx,
        first_age,
        last_age,
        end_c as mrr,
        case when end_c > 0 then 1 else 0 end as retained_customers,
        case when end_c > 0 then start_c else 0 end as retained_start,
        greatest(end_c - start_c, 0) as expansion,
        case when end_c > 0 then greatest(start_c - end_c, 0) else 0 end as contraction,
        reactivated_c as reactivated_mrr
    from members
),

-- every cohort at every age it has reached
grid as (
    select cohorts.*, ages.age_months
    from cohorts
    cross join parameters
    cross join range(0, parameters.as_of_idx - cohorts.cohort_idx + 1) as ages(age_months)
),

{%- set metrics = ["mrr", "retained_customers", "retained_start", "expansion", "contraction",
                   "reactivated_mrr"] %}

-- per cohort and age: the sums over the members paying then
cells as (
    select idx as age_months, * exclude (idx)
    from {{ running_totals(
        "contributions", "first_age", "last_age", ["cohort_idx"], metrics,
        "(select as_of_idx from run_parameters) - cohort_idx",
    ) }}
),

final as (
    select
        {{ month_date("grid.cohort_idx") }} as cohort_month,
        cast(grid.age_months as integer) as age_months,
        grid.customers,
        cast(grid.start_mrr as double) as start_mrr,
        cast(coalesce(cells.mrr, 0) as double) as mrr,
        cast(coalesce(cells.mrr, 0) as double) / cast(grid.start_mrr as double) as nrr,
        cast(
            grid.start_mrr - coalesce(cells.contraction, 0)
            - (grid.start_mrr - coalesce(cells.retained_start, 0)) as double
        ) / cast(grid.start_mrr as double) as grr,
        cast(coalesce(cells.retained_customers, 0) as bigint) as retained_customers,
        cast(coalesce(cells.expansion, 0) as double) as expansion,
        cast(coalesce(cells.contraction, 0) as double) as contraction,
        cast(grid.start_mrr - coalesce(cells.retained_start, 0) as double) as churn,
        cast(coalesce(cells.reactivated_mrr, 0) as double) as reactivated_mrr,
        parameters.reactivation_policy
    from grid
    cross join parameters
    left join cells
        on grid.cohort_idx = cells.cohort_idx and grid.age_months = cells.age_months
)

select * from final
