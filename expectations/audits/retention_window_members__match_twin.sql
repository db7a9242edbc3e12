{%- from "macros.sql" import off_by_a_cent %}
-- Window members (retention_window_members, company rows) that the twin does not find the
-- same way from customer_mrr_monthly (metrics/models/twin/twin_window_members.sql): a
-- member missing or extra in a window, or a start, end or reactivated amount a cent or more
-- off. (A member's segment rows repeat its company row; retention_windows__matches_twin
-- checks the segments' sums.)
with twin as (
    select *, 'all' as dimension, 'all' as segment from twin_window_members
),

engine as (
    -- the closed month's windows: what the close publishes (the twin's last month)
    select * from retention_window_members
    where dimension = 'all' and as_of = (select max(month) from twin_months)
)

select
    coalesce(engine.as_of, twin.as_of) as as_of,
    coalesce(engine.window_months, twin.window_months) as window_months,
    coalesce(engine.dimension, twin.dimension) as dimension,
    coalesce(engine.segment, twin.segment) as segment,
    coalesce(engine.customer_id, twin.customer_id) as customer_id,
    engine.start_mrr, twin.start_c as twin_start_mrr,
    engine.paid_end_mrr, twin.paid_end_c as twin_paid_end_mrr,
    engine.end_mrr, twin.end_c as twin_end_mrr,
    engine.reactivated, twin.reactivated as twin_reactivated,
    engine.reactivated_mrr, twin.reactivated_c as twin_reactivated_mrr
from engine
full outer join twin
    on engine.as_of = twin.as_of
    and engine.window_months = twin.window_months
    and engine.dimension = twin.dimension
    and engine.segment = twin.segment
    and engine.customer_id = twin.customer_id
where engine.as_of is null
    or twin.as_of is null
    or engine.reactivated <> twin.reactivated
    or {{ off_by_a_cent("engine.start_mrr", "twin.start_c") }}
    or {{ off_by_a_cent("engine.paid_end_mrr", "twin.paid_end_c") }}
    or {{ off_by_a_cent("engine.end_mrr", "twin.end_c") }}
    or {{ off_by_a_cent("engine.reactivated_mrr", "twin.reactivated_c") }}
order by 1, 2, 3, 4, 5
