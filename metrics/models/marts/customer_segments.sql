-- Every combination of currency and segment attribute values (plan, country, ...) that
-- customers have, once, under the key customer_mrr_facts carries: the texts are stored once
-- per combination instead of on every customer-month.

with segments as (
    select * from int_segments
),

final as (
    select
        segment_key,
        currency,
        {%- for dim in attributes %}
        {{ q(dim) }},
        {%- endfor %}
    from segments
)

select * from final
