-- Acquisition-cohort retention: the cohort of month k is every customer whose first month
-- with MRR > 0 is k. At age n, each member's MRR at k + n is compared with its MRR at k,
-- under the run's reactivation policy (a member that left and came back counts as churned
-- under `exclude`), both at the rate of month k. Every cohort has a row for every age up to
-- the as-of month, so a cohort that lost everyone shows 0, not a missing cell.

with parameters as (
    select * from run_parameters
),

backbone as (
    select customer_key, month_idx, run_id, first_month_idx, mrr from int_customer_month
),

-- each member's MRR at its cohort month's rate
{%- if single_currency %}
at_cohort_rate as (
    select customer_key, month_idx, mrr as mrr_const from backbone
),
{%- else %}
at_cohort_rate as (
    select
        lines.customer_key,
        lines.month_idx,
        sum({{ convert("lines.native_mrr", "fx.rate_exact") }}) as mrr_const
    from int_customer_month_lines as lines
    inner join (
        select distinct customer_key, first_month_idx from backbone
    ) as firsts on lines.customer_key = firsts.customer_key
    inner join int_fx_monthly as fx
        on lines.currency = fx.currency and firsts.first_month_idx = fx.month_idx
    group by lines.customer_key, lines.month_idx
),
{%- endif %}

starts as (
    select customer_key, first_month_idx, mrr as start_c
    from backbone
    where month_idx = first_month_idx
),

cohorts as (
    select first_month_idx as cohort_idx, count(*) as customers, sum(start_c) as start_mrr
    from starts
    group by first_month_idx
),

members as (
    select
        backbone.first_month_idx as cohort_idx,
        backbone.month_idx - backbone.first_month_idx as age_months,
        starts.start_c,
        case
            when parameters.reactivation_policy = 'include'
                or backbone.run_id = backbone.first_month_idx - 1
                then at_cohort_rate.mrr_const
            else 0
        end as end_c,
        case
            when backbone.run_id <> backbone.first_month_idx - 1 then at_cohort_rate.mrr_const
            else 0
        end as reactivated_c
    from backbone
    cross join parameters
    inner join starts on backbone.customer_key = starts.customer_key
    inner join at_cohort_rate
        on backbone.customer_key = at_cohort_rate.customer_key
        and backbone.month_idx = at_cohort_rate.month_idx
),

cells as (
    select
        cohort_idx,
        age_months,
        sum(end_c) as mrr,
        count_if(end_c > 0) as retained_customers,
        sum(case when end_c > 0 then start_c else 0 end) as retained_start,
        sum(greatest(end_c - start_c, 0)) as expansion,
        sum(case when end_c > 0 then greatest(start_c - end_c, 0) else 0 end) as contraction,
        sum(reactivated_c) as reactivated_mrr
    from members
    group by cohort_idx, age_months
),

-- every cohort at every age it has reached
grid as (
    select cohorts.*, ages.age_months
    from cohorts
    cross join parameters
    cross join range(0, parameters.as_of_idx - cohorts.cohort_idx + 1) as ages(age_months)
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
