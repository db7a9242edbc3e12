-- config: view
-- One row per member of an acquisition cohort and age (months since the cohort month k) at
-- which it pays: what cohort_retention sums, customer by customer (metrics.md section 4).
-- `start_mrr` is MRR(c, k); `paid_mrr` what it pays at k + age at k's exchange rates
-- (constant currency); `end_mrr` the same under the reactivation policy (0 for a member
-- back after a gap under `exclude`, whose payment is `reactivated_mrr`). A member with no
-- row at an age pays nothing then. A view over cohort_retention_member_facts.

with facts as (
    select * from cohort_retention_member_facts
),

-- one row per age of each spell
ages as (
    select
        facts.*,
        cast(unnest(range(facts.first_age, facts.last_age + 1)) as integer) as age_months
    from facts
),

final as (
    select
        ages.cohort_month,
        ages.age_months,
        customers.customer_id,
        ages.start_mrr,
        ages.paid_mrr,
        ages.end_mrr,
        ages.reactivated_mrr > 0 as reactivated,
        ages.reactivated_mrr
    from ages
    inner join customer_cohorts as customers on ages.customer_key = customers.customer_key
)

select * from final
