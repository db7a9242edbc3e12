-- config: view
-- One row per cohort member of every window (m0, m1], for the company and for each segment
-- dimension it is counted in: what retention_windows sums, customer by customer, so an
-- auditor can retrace any window (metrics.md section 3). `as_of` is m1; `start_mrr` is
-- MRR(c, m0); `paid_end_mrr` is what the member pays at m1 at m0's exchange rates (constant
-- currency); `end_mrr` is end_c under the reactivation policy (0 for a member back after a
-- gap under `exclude`, whose payment is `reactivated_mrr`); `reactivated` says it was back.
-- A view over retention_window_member_facts (one row per run of window ends).

with facts as (
    select * from retention_window_member_facts
),

-- one row per window end of each run
windows as (
    select
        facts.*,
        cast(unnest(generate_series(facts.first_as_of, facts.last_as_of, interval 1 month))
            as date) as as_of
    from facts
),

-- the company and each dimension the member is counted in, with its segment at m0
counted as (
    select
        windows.*,
        customers.customer_id,
        unnest([
            {'dimension': 'all', 'segment': 'all'},
            {'dimension': 'acv_band', 'segment': windows.acv_band},
            {%- for dim in dimensions %}
            {'dimension': {{ literal(dim) }}, 'segment': coalesce(segments.{{ q(dim) }}, '(none)')},
            {%- endfor %}
        ]) as counted_in
    from windows
    inner join customer_cohorts as customers on windows.customer_key = customers.customer_key
    inner join customer_segments as segments on windows.segment_key = segments.segment_key
),

final as (
    select
        counted.as_of,
        counted.window_months,
        counted.counted_in.dimension as dimension,
        counted.counted_in.segment as segment,
        counted.customer_id,
        counted.start_mrr,
        counted.paid_end_mrr,
        counted.end_mrr,
        counted.fate = 'returned' as reactivated,
        counted.reactivated_mrr,
        parameters.reactivation_policy
    from counted
    cross join (select {{ literal(reactivation_policy) }} as reactivation_policy) as parameters
)

select * from final
