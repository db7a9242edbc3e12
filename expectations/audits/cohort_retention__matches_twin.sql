{%- from "macros.sql" import off_by_a_cent %}
-- Cohort cells where the engine's figures and the twin's (the metric contract read
-- literally, metrics/models/twin/twin_cohort_retention.sql) differ by a cent or more, or
-- where one has a cell the other lacks.
select
    coalesce(engine.cohort_month, twin.cohort_month) as cohort_month,
    coalesce(engine.age_months, twin.age_months) as age_months,
    engine.customers, twin.customers as twin_customers,
    engine.retained_customers, twin.retained_customers as twin_retained_customers,
    engine.start_mrr, twin.start_mrr as twin_start_mrr,
    engine.mrr, twin.mrr as twin_mrr,
    engine.expansion, twin.expansion as twin_expansion,
    engine.contraction, twin.contraction as twin_contraction,
    engine.churn, twin.churn as twin_churn,
    engine.reactivated_mrr, twin.reactivated_mrr as twin_reactivated_mrr,
    engine.nrr, twin.nrr as twin_nrr,
    engine.grr, twin.grr as twin_grr
from cohort_retention as engine
full outer join twin_cohort_retention as twin
    on engine.cohort_month = twin.cohort_month and engine.age_months = twin.age_months
where engine.cohort_month is null
    or twin.cohort_month is null
    or engine.customers <> twin.customers
    or engine.retained_customers <> twin.retained_customers
    or {{ off_by_a_cent("engine.start_mrr", "twin.start_mrr") }}
    or {{ off_by_a_cent("engine.mrr", "twin.mrr") }}
    or {{ off_by_a_cent("engine.expansion", "twin.expansion") }}
    or {{ off_by_a_cent("engine.contraction", "twin.contraction") }}
    or {{ off_by_a_cent("engine.churn", "twin.churn") }}
    or {{ off_by_a_cent("engine.reactivated_mrr", "twin.reactivated_mrr") }}
    or {{ off_by_a_cent("engine.nrr * engine.start_mrr", "twin.nrr * twin.start_mrr") }}
    or {{ off_by_a_cent("engine.grr * engine.start_mrr", "twin.grr * twin.start_mrr") }}
order by 1, 2
