-- Twin: MRR(c, m) as customer_mrr_monthly publishes it (a customer without a row pays 0),
-- with how many month ends it has paid at so far: a member missed a month end between two
-- months when fewer months were paid than passed (the reactivation rule reads this).

-- the published customer-months up to the closed month
with customer_month as (
    select customer_id, month, mrr
    from customer_mrr_monthly
    where month <= {{ as_of }} and mrr > 0
),

-- paying month ends counted per customer, oldest first
final as (
    select
        customer_id,
        month,
        mrr,
        row_number() over (partition by customer_id order by month) as paying_months
    from customer_month
)

select * from final
