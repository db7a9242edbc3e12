-- config: view
-- Customer-month MRR: what every other figure is built from, one row per customer and month
-- with MRR > 0 (a customer absent in a month has MRR 0). `month` is the first day of the
-- month; `mrr` is in reporting currency at that month's rate, as of the month's last instant.
-- A view: the rows are stored once in customer_mrr_facts, the customer ids and cohorts once
-- per customer in customer_cohorts, the segment texts once per combination in customer_segments,
-- and the ACV band follows from the MRR.

with facts as (
    select * from customer_mrr_facts
),

final as (
    select
        facts.month,
        customers.customer_id,
        facts.mrr,
        segments.currency,
        {%- for dim in attributes %}
        segments.{{ q(dim) }},
        {%- endfor %}
        {{ acv_band("facts.mrr") }} as acv_band,
        customers.cohort_month
    from facts
    inner join customer_cohorts as customers on facts.customer_key = customers.customer_key
    inner join customer_segments as segments on facts.segment_key = segments.segment_key
)

select * from final
