-- Customer-months of {{ view }} that appear more than once: its grain is one row per
-- customer and month. Checked on its facts ({{ facts }}, one integer key per customer), whose
-- keys customer_cohorts maps one to one to customer ids (its own suite checks that). Rows are
-- grouped per customer and decade, not per customer-month: a group's row count must equal
-- its distinct months, counted as the bits of a 128-bit mask (20 million customer-months as
-- 20 million groups took 6 s, as 2 million groups 1 s). Only offending customers are then
-- looked up month by month, with their ids.
with decades as (
    select
        customer_key,
        (year(month) * 12 + month(month) - 1) // 120 as decade
    from {{ facts }}
    group by all
    having count(*) <> bit_count(bit_or(1::hugeint << ((year(month) * 12 + month(month) - 1) % 120)))
)

select customers.customer_id, facts.customer_key, facts.month, count(*) as copies
from {{ facts }} as facts
inner join decades
    on facts.customer_key = decades.customer_key
    and (year(facts.month) * 12 + month(facts.month) - 1) // 120 = decades.decade
left join customer_cohorts as customers on facts.customer_key = customers.customer_key
group by all
having count(*) > 1
order by copies desc, customers.customer_id, facts.month
