-- config: view
-- MRR movements for people and BI tools: dates, customer ids and amounts in reporting
-- currency (both sides at the opening month's rate), with the customer's segment at the
-- start of the movement. A view over mrr_movement_facts, customer_cohorts and customer_segments
-- (ids are stored once per customer, segment texts once per combination). See
-- int_mrr_movements for the rules.

with facts as (
    select * from mrr_movement_facts
),

final as (
    select
        facts.month,
        customers.customer_id,
        facts.movement,
        facts.amount,
        facts.previous_mrr,
        facts.mrr,
        facts.churn_kind,
        facts.acv_band,
        segments.currency,
        {%- for dim in attributes %}
        segments.{{ q(dim) }},
        {%- endfor %}
    from facts
    inner join customer_cohorts as customers on facts.customer_key = customers.customer_key
    inner join customer_segments as segments on facts.segment_key = segments.segment_key
)

select * from final
