{%- from "macros.sql" import off_by_a_cent %}
-- Windows where the engine's figures and the twin's (the metric contract read literally,
-- metrics/models/twin/twin_retention_windows.sql) differ by a cent or more, or where one
-- has a row the other lacks. Counts must be equal; NRR and GRR must give the same end MRR.
select
    coalesce(engine.as_of, twin.as_of) as as_of,
    coalesce(engine.window_months, twin.window_months) as window_months,
    coalesce(engine.dimension, twin.dimension) as dimension,
    coalesce(engine.segment, twin.segment) as segment,
    engine.cohort_customers, twin.cohort_customers as twin_cohort_customers,
    engine.retained_customers, twin.retained_customers as twin_retained_customers,
    engine.start_mrr, twin.start_mrr as twin_start_mrr,
    engine.expansion, twin.expansion as twin_expansion,
    engine.contraction, twin.contraction as twin_contraction,
    engine.churn, twin.churn as twin_churn,
    engine.reactivated_mrr, twin.reactivated_mrr as twin_reactivated_mrr,
    engine.nrr, twin.nrr as twin_nrr,
    engine.grr, twin.grr as twin_grr
from (
    -- the closed month's windows: what the close publishes (the twin's last month)
    select * from retention_windows where as_of = (select max(month) from twin_months)
) as engine
full outer join twin_retention_windows as twin
    on engine.as_of = twin.as_of
    and engine.window_months = twin.window_months
    and engine.dimension = twin.dimension
    and engine.segment = twin.segment
where engine.as_of is null
    or twin.as_of is null
    or engine.cohort_customers <> twin.cohort_customers
    or engine.retained_customers <> twin.retained_customers
    or {{ off_by_a_cent("engine.start_mrr", "twin.start_mrr") }}
    or {{ off_by_a_cent("engine.expansion", "twin.expansion") }}
    or {{ off_by_a_cent("engine.contraction", "twin.contraction") }}
    or {{ off_by_a_cent("engine.churn", "twin.churn") }}
    or {{ off_by_a_cent("engine.reactivated_mrr", "twin.reactivated_mrr") }}
    or {{ off_by_a_cent("engine.nrr * engine.start_mrr", "twin.nrr * twin.start_mrr") }}
    or {{ off_by_a_cent("engine.grr * engine.start_mrr", "twin.grr * twin.start_mrr") }}
order by 1, 2, 3, 4
