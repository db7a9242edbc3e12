{%- from "macros.sql" import off_by_a_cent %}
-- Cohort members (cohort_retention_members) that the twin does not find the same way from
-- customer_mrr_monthly (metrics/models/twin/twin_cohort_members.sql): a paying member
-- missing or extra at an age, or a start, paid, end or reactivated amount a cent or more off.
with twin as (
    select * from twin_cohort_members where paid_c > 0
)

select
    coalesce(engine.cohort_month, twin.cohort_month) as cohort_month,
    coalesce(engine.age_months, twin.age_months) as age_months,
    coalesce(engine.customer_id, twin.customer_id) as customer_id,
    engine.start_mrr, twin.start_c as twin_start_mrr,
    engine.paid_mrr, twin.paid_c as twin_paid_mrr,
    engine.end_mrr, twin.end_c as twin_end_mrr,
    engine.reactivated, twin.reactivated as twin_reactivated,
    engine.reactivated_mrr, twin.reactivated_c as twin_reactivated_mrr
from cohort_retention_members as engine
full outer join twin
    on engine.cohort_month = twin.cohort_month
    and engine.age_months = twin.age_months
    and engine.customer_id = twin.customer_id
where engine.cohort_month is null
    or twin.cohort_month is null
    or engine.reactivated <> twin.reactivated
    or {{ off_by_a_cent("engine.start_mrr", "twin.start_c") }}
    or {{ off_by_a_cent("engine.paid_mrr", "twin.paid_c") }}
    or {{ off_by_a_cent("engine.end_mrr", "twin.end_c") }}
    or {{ off_by_a_cent("engine.reactivated_mrr", "twin.reactivated_c") }}
order by 1, 2, 3
