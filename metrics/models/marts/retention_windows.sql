-- NRR and GRR for every window (m0, m1] of each configured length ending at every month,
-- for the company and for every segment. The cohort is every customer with MRR > 0 at m0
-- (customers new in the window are excluded); its segment is the one it had at m0.
-- Start and end MRR are both at m0's exchange rates (constant currency).
-- Reactivation policy `exclude`: a member whose MRR was 0 at any month end inside the
-- window counts as churned (end 0) and what it pays at m1 is reported as reactivated_mrr.
-- `include`: its MRR at m1 counts as its end MRR.

{%- from "macros.sql" import running_totals %}

with parameters as (
    select * from run_parameters
),

-- every member of every window, with its start and end MRR (see int_window_members)
contributions as (
    select * from int_window_members
),

-- what a range adds to each window ending in it, from its first m1 to its last
amounts as (
    select
        first_as_of_idx,
        last_as_of_idx,
        window_months,
        acv_band_code,
        segment_key,
        case when end_c > 0 then 1 else 0 end as retained_customers,
        start_c as start_mrr,
        greatest(end_c - start_c, 0) as expansion,
        case when end_c > 0 then greatest(start_c - end_c, 0) else 0 end as contraction,
        case when end_c = 0 then start_c else 0 end as churn,
        reactivated_c as reactivated_mrr
    from contributions
),

{%- set metrics = ["retained_customers", "start_mrr", "expansion", "contraction", "churn",
                   "reactivated_mrr"] %}

-- per window end, ACV band and segment key: the finest grain the dimensions roll up from.
-- Each member is one range, so the ranges are the cohort's customers; what the cohort pays
-- at m1 follows from the movements: start + expansion - contraction - churn
fine as (
    select
        idx as as_of_idx,
        * exclude (idx, ranges, acv_band_code),
        {{ acv_band_name("acv_band_code") }} as acv_band,
        ranges as cohort_customers,
        start_mrr + expansion - contraction - churn as end_mrr
    from {{ running_totals(
        "amounts", "first_as_of_idx", "last_as_of_idx",
        ["window_months", "acv_band_code", "segment_key"], metrics,
        "(select as_of_idx from run_parameters)",
    ) }}
),

-- the segment texts, from the small segments table
labelled as (
    select
        fine.as_of_idx,
        fine.window_months,
        {{ segment_columns() }},
        fine.* exclude (as_of_idx, window_months, acv_band, segment_key)
    from fine
    inner join int_segments as segments on fine.segment_key = segments.segment_key
),

-- sums add up, so the company and every dimension roll up from the fine grain
grouped as (
    select
        as_of_idx,
        window_months,
        {{ dimension_label() }} as dimension,
        {{ segment_label() }} as segment,
        sum(cohort_customers) as cohort_customers,
        sum(retained_customers) as retained_customers,
        sum(start_mrr) as start_mrr,
        sum(expansion) as expansion,
        sum(contraction) as contraction,
        sum(churn) as churn,
        sum(reactivated_mrr) as reactivated_mrr,
        sum(end_mrr) as end_mrr
    from labelled
    group by grouping sets ({{ grouping_sets("as_of_idx, window_months") }})
),

-- every month of history has a company-level row per window, even with an empty cohort
company_spine as (
    select
        int_months.month_idx as as_of_idx,
        windows.window_months,
        'all' as dimension,
        'all' as segment
    from int_months
    cross join (select unnest([{{ windows | join(", ") }}]) as window_months) as windows
    where int_months.in_history
),

windows as (
    select
        spine.as_of_idx, spine.window_months, spine.dimension, spine.segment,
        coalesce(grouped.cohort_customers, 0) as cohort_customers,
        coalesce(grouped.retained_customers, 0) as retained_customers,
        coalesce(grouped.start_mrr, 0) as start_mrr,
        coalesce(grouped.expansion, 0) as expansion,
        coalesce(grouped.contraction, 0) as contraction,
        coalesce(grouped.churn, 0) as churn,
        coalesce(grouped.reactivated_mrr, 0) as reactivated_mrr,
        coalesce(grouped.end_mrr, 0) as end_mrr
    from company_spine as spine
    left join grouped
        on spine.as_of_idx = grouped.as_of_idx
        and spine.window_months = grouped.window_months
        and grouped.dimension = 'all'
    union all
    select * from grouped where dimension <> 'all'
),

-- ratios: null for an empty cohort, never a division by zero
ratios as (
    select
        windows.*,
        case when start_mrr > 0
            then cast(start_mrr + expansion - contraction - churn as double) / cast(start_mrr as double)
        end as nrr,
        case when start_mrr > 0
            then cast(start_mrr - contraction - churn as double) / cast(start_mrr as double)
        end as grr
    from windows
),

final as (
    select
        {{ month_date("ratios.as_of_idx") }} as as_of,
        cast(ratios.window_months as integer) as window_months,
        ratios.dimension,
        ratios.segment,
        cast(ratios.cohort_customers as bigint) as cohort_customers,
        cast(ratios.retained_customers as bigint) as retained_customers,
        cast(ratios.start_mrr as double) as start_mrr,
        cast(ratios.expansion as double) as expansion,
        cast(ratios.contraction as double) as contraction,
        cast(ratios.churn as double) as churn,
        cast(ratios.reactivated_mrr as double) as reactivated_mrr,
        ratios.nrr,
        ratios.grr,
        {{ benchmark_band("ratios", "nrr") }} as benchmark_band,
        parameters.reactivation_policy,
        {{ benchmark_band("ratios", "grr") }} as grr_band,
        cast(ratios.end_mrr as double) as end_mrr,
        case when ratios.start_mrr > 0
            then cast(ratios.expansion as double) / cast(ratios.start_mrr as double) end
            as expansion_rate,
        case when ratios.start_mrr > 0
            then cast(ratios.contraction as double) / cast(ratios.start_mrr as double) end
            as contraction_rate,
        case when ratios.start_mrr > 0
            then cast(ratios.churn as double) / cast(ratios.start_mrr as double) end
            as churn_rate,
        case when ratios.cohort_customers > 0
            then ratios.retained_customers / ratios.cohort_customers end as logo_retention,
        -- the window's NRR and GRR at a yearly pace: monthly ^ 12, quarterly ^ 4
        pow(ratios.nrr, 12.0 / ratios.window_months) as nrr_annualised,
        pow(ratios.grr, 12.0 / ratios.window_months) as grr_annualised
    from ratios
    cross join parameters
)

select * from final
