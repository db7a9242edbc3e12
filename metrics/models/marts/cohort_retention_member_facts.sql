-- Every member of every acquisition cohort, compactly: one row per customer spell, with
-- the ages it covers (first_age .. last_age), the customer as its key into customer_cohorts.
-- cohort_retention_members is the readable view, one row per member and age it pays at.

with members as (
    select * from int_cohort_members
),

final as (
    select
        {{ month_date("members.cohort_idx") }} as cohort_month,
        cast(members.first_age as integer) as first_age,
        cast(members.last_age as integer) as last_age,
        members.customer_key,
        cast(members.start_c as double) as start_mrr,
        cast(members.paid_c as double) as paid_mrr,
        cast(members.end_c as double) as end_mrr,
        cast(members.reactivated_c as double) as reactivated_mrr
    from members
)

select * from final
