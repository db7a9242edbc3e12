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

-- each member with its customer id and its segment texts as of m0
named as (
    select
        windows.*,
        customers.customer_id,
        {%- for dim in dimensions %}
        coalesce(segments.{{ q(dim) }}, '(none)') as {{ q("segment_" ~ dim) }},
        {%- endfor %}
        parameters.reactivation_policy
    from windows
    inner join customer_cohorts as customers on windows.customer_key = customers.customer_key
    inner join customer_segments as segments on windows.segment_key = segments.segment_key
    cross join (select {{ literal(reactivation_policy) }} as reactivation_policy) as parameters
),

{%- set columns = "as_of, window_months, customer_id, start_mrr, paid_end_mrr, end_mrr,
    fate = 'returned' as reactivated, reactivated_mrr, reactivation_policy" %}

-- the company and each dimension the member is counted in (one branch each: a query for
-- one dimension reads only its branch)
final as (
    select 'all' as dimension, 'all' as segment, {{ columns }} from named
    union all
    select 'acv_band', acv_band, {{ columns }} from named
    {%- for dim in dimensions %}
    union all
    select {{ literal(dim) }}, {{ q("segment_" ~ dim) }}, {{ columns }} from named
    {%- endfor %}
)

select
    as_of, window_months, dimension, segment, customer_id, start_mrr, paid_end_mrr, end_mrr,
    reactivated, reactivated_mrr, reactivation_policy
from final
