-- Twin, metrics.md section 4 (acquisition cohorts): the cohort of month k is every customer
-- whose first month with MRR > 0 is k; at age n each member's start_c = MRR(c, k) and end_c
-- is what it pays at k + n at k's exchange rates, 0 under `exclude` for a member that
-- missed a month end since k (it left and came back). One row per member and age it pays
-- at; a member paying nothing at an age is churned there (twin_cohort_retention counts it).

-- each customer's cohort month and what it paid then
with cohorts as (
    select customer_id, month as cohort_month, mrr as start_c
    from twin_customer_mrr
    where paying_months = 1
),

-- every month a member pays at, from its cohort month on, with what it pays then and how
-- many month ends it has paid at by then (at any other age it pays nothing: paid_c = 0)
paying as (
    select
        cohorts.*,
        cast(datediff('month', cohorts.cohort_month, ends.month) as integer) as age_months,
        ends.month,
        ends.mrr as mrr_at_end,
        ends.paying_months as paying_months_at_end
    from cohorts
    inner join twin_customer_mrr as ends on ends.customer_id = cohorts.customer_id
),

-- what it pays at that age at k's rates, as published in cohort_retention_members
-- (constant currency; in the reporting currency it is MRR(c, k + n))
ends as (
    select
        paying.*,
        published.paid_mrr as published_paid
    from paying
    left join cohort_retention_members as published
        on published.cohort_month = paying.cohort_month
        and published.age_months = paying.age_months
        and published.customer_id = paying.customer_id
),

-- back after a gap: pays at k + n but paid at fewer month ends since k than passed
flagged as (
    select
        *,
        coalesce(published_paid, mrr_at_end) as paid_c,
        paying_months_at_end - 1 < age_months as reactivated
    from ends
),

-- end_c under the reactivation policy ({{ reactivation_policy }})
final as (
    select
        cohort_month,
        age_months,
        customer_id,
        start_c,
        paid_c,
        reactivated,
        case
            when reactivated and {{ literal(reactivation_policy) }} = 'exclude' then 0
            else paid_c
        end as end_c,
        case when reactivated then paid_c else 0 end as reactivated_c
    from flagged
)

select * from final
