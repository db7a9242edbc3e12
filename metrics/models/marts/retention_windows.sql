-- NRR and GRR for every window (m0, m1] of each configured length ending at every month,
-- for the company and for every segment. The cohort is every customer with MRR > 0 at m0
-- (customers new in the window are excluded); its segment is the one it had at m0.
-- Start and end MRR are both at m0's exchange rates (constant currency).
-- Reactivation policy `exclude`: a member whose MRR was 0 at any month end inside the
-- window counts as churned (end 0) and what it pays at m1 is reported as reactivated_mrr.
-- `include`: its MRR at m1 counts as its end MRR.

with parameters as (
    select * from run_parameters
),

-- months in which a customer pays again after a gap (any run but its first): the only rows
-- a window needs to look up, for members that were not paying at every month end
returning_rows as (
    select * from int_customer_month where run_id <> first_month_idx - 1
),

-- per cohort member: start and end MRR under the policy, netted over the window, then
-- summed at the finest segment grain; one window length at a time (bounded memory)
fine as (
    {%- for n in windows %}
    select
        as_of_idx,
        window_months,
        acv_band,
        segment_key,
        count(*) as cohort_customers,
        count_if(end_c > 0) as retained_customers,
        sum(start_c) as start_mrr,
        sum(greatest(end_c - start_c, 0)) as expansion,
        sum(case when end_c > 0 then greatest(start_c - end_c, 0) else 0 end) as contraction,
        sum(case when end_c = 0 then start_c else 0 end) as churn,
        sum(reactivated_c) as reactivated_mrr,
        sum(end_c) as end_mrr
    from (
        select
            m0.month_idx + {{ n }} as as_of_idx,
            {{ n }} as window_months,
            m0.acv_band,
            m0.segment_key,
            m0.mrr as start_c,
            case
                when m0.ahead_idx_{{ n }} = m0.month_idx + {{ n }} then m0.ahead_mrr_{{ n }}
                when parameters.reactivation_policy = 'include'
                    then coalesce({{ at_rate_lag("back", n) }}, 0)
                else 0
            end as end_c,
            case
                when m0.ahead_idx_{{ n }} = m0.month_idx + {{ n }} then 0
                else coalesce({{ at_rate_lag("back", n) }}, 0)
            end as reactivated_c
        from int_customer_month as m0
        cross join parameters
        -- paying at m1 after a gap: m1 lies in a later run than m0
        left join returning_rows as back
            on m0.customer_key = back.customer_key and m0.month_idx + {{ n }} = back.month_idx
        where m0.month_idx + {{ n }} <= parameters.as_of_idx
    ) as members
    group by all
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
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
        {{ band("ratios", "nrr") }} as benchmark_band,
        parameters.reactivation_policy,
        {{ band("ratios", "grr") }} as grr_band,
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
