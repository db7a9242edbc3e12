-- One integer key per customer: joins and sorts on integers are much cheaper than on text.

-- every customer that has at least one counted month
with customers as (
    select distinct customer_id from stg_ledger__revenue_periods
),

final as (
    select
        customer_id,
        cast(row_number() over (order by customer_id) as integer) as customer_key
    from customers
)

select * from final
