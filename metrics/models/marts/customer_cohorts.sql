-- One row per customer with MRR > 0 in some month up to the as-of month: the integer key
-- the fact tables carry (rebuilt by every compute: join on it, never store it), the
-- customer's id as the ledger spells it, and its acquisition cohort (first month with
-- MRR > 0). Ids are stored once here instead of on every customer-month:
-- customer_mrr_monthly and mrr_movements join them back.

with cohorts as (
    select customer_key, first_month_idx
    from int_spells
    where spell_start_idx = first_month_idx
),

final as (
    select
        customers.customer_key,
        customers.customer_id,
        {{ month_date("cohorts.first_month_idx") }} as cohort_month
    from int_customers as customers
    left join cohorts on customers.customer_key = cohorts.customer_key
)

select * from final
