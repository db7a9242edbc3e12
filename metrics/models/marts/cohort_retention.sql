-- Acquisition-cohort retention: the cohort of month k is every customer whose first month
-- with MRR > 0 is k. At age n, each member's MRR at k + n is compared with its MRR at k,
-- under the run's reactivation policy (a member that left and came back counts as churned
-- under `exclude`), both at the rate of month k. Every cohort has a row for every age up to
-- the as-of month, so a cohort that lost everyone shows 0, not a missing cell.

{%- from "macros.sql" import running_totals %}

with parameters as (
    select * from run_parameters
),

-- each spell's MRR at the rate of its customer's cohort month (constant within the spell)
{%- if single_currency %}
valued as (
    select
        customer_key, spell_start_idx, spell_end_idx, run_start_idx, first_month_idx,
        last_mrr as value_c
    from int_spells
),
{%- else %}
valued as (
    select
        spells.customer_key,
        spells.spell_start_idx,
        any_value(spells.spell_end_idx) as spell_end_idx,
        any_value(spells.run_start_idx) as run_start_idx,
        any_value(spells.first_month_idx) as first_month_idx,
        sum({{ convert("lines.native_mrr", "fx.rate_exact") }}) as value_c
    from int_spell_lines as lines
    inner join int_spells as spells
        on lines.customer_key = spells.customer_key
        and lines.spell_start_idx = spells.spell_start_idx
    inner join int_fx_monthly as fx
        on lines.currency = fx.currency and spells.first_month_idx = fx.month_idx
    group by spells.customer_key, spells.spell_start_idx
),
{%- endif %}

-- each member's MRR in its cohort month
starts as (
    select customer_key, value_c as start_c
    from valued
    where spell_start_idx = first_month_idx
),

cohorts as (
    select valued.first_month_idx as cohort_idx, count(*) as customers, sum(valued.value_c) as start_mrr
    from valued
    where valued.spell_start_idx = valued.first_month_idx
    group by valued.first_month_idx
),

-- what each spell adds to every age it covers, under the reactivation policy (a member that
-- left and came back is outside its first run of paying months)
members as (
    select
        valued.first_month_idx as cohort_idx,
        valued.spell_start_idx - valued.first_month_idx as first_age,
        valued.spell_end_idx - valued.first_month_idx as last_age,
        starts.start_c,
        case
            when parameters.reactivation_policy = 'include'
                or valued.run_start_idx = valued.first_month_idx
                then valued.value_c
            else 0
        end as end_c,
        case
            when valued.run_start_idx <> valued.first_month_idx then valued.value_c
            else 0
        end as reactivated_c
    from valued
    cross join parameters
    inner join starts on valued.customer_key = starts.customer_key
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
