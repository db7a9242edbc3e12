-- Twin: MRR(c, m) as customer_mrr_monthly publishes it (a customer without a row pays 0),
-- with its segments that month (ACV band and each configured dimension; a missing value is
-- the segment '(none)') and how many month ends it has paid at so far: a member missed a
-- month end between two months when fewer months were paid than passed (the reactivation
-- rule reads this).

-- the published customer-months up to the closed month
with customer_month as (
    select
        customer_id,
        month,
        mrr,
        acv_band,
        {%- for dim in dimensions %}
        coalesce(cast({{ q(dim) }} as varchar), '(none)') as {{ q(dim) }},
        {%- endfor %}
    from customer_mrr_monthly
    where month <= {{ as_of }} and mrr > 0
),

-- paying month ends counted per customer, oldest first
final as (
    select
        *,
        row_number() over (partition by customer_id order by month) as paying_months
    from customer_month
)

select * from final
