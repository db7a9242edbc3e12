-- Twin, metrics.md section 4 (acquisition cohorts): the cohort of month k is every customer
-- whose first month with MRR > 0 is k; at age n each member's start_c = MRR(c, k) and end_c
-- is what it pays at k + n at k's exchange rates, 0 under `exclude` for a member that
-- missed a month end since k (it left and came back).

-- each customer's cohort month and what it paid then
with cohorts as (
    select customer_id, month as cohort_month, mrr as start_c
    from twin_customer_mrr
    where paying_months = 1
),

-- every member at every age its cohort has reached
ages as (
    select
        cohorts.*,
        cast(datediff('month', cohorts.cohort_month, months.month) as integer) as age_months,
        months.month
    from cohorts
    inner join twin_months as months on months.month >= cohorts.cohort_month
),

-- what it pays at that age (nothing without a row), at k's rates as published in
-- cohort_retention_members (constant currency; in the reporting currency it is MRR(c, k + n))
ends as (
    select
        ages.*,
        ends.mrr as mrr_at_end,
        ends.paying_months as paying_months_at_end,
        published.paid_mrr as published_paid
    from ages
    left join twin_customer_mrr as ends
        on ends.customer_id = ages.customer_id and ends.month = ages.month
    left join cohort_retention_members as published
        on published.cohort_month = ages.cohort_month
        and published.age_months = ages.age_months
        and published.customer_id = ages.customer_id
),

-- back after a gap: pays at k + n but paid at fewer month ends since k than passed
flagged as (
    select
        *,
        case when mrr_at_end is null then 0 else coalesce(published_paid, mrr_at_end) end
            as paid_c,
        mrr_at_end is not null and paying_months_at_end - 1 < age_months as reactivated
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
