-- MRR movements for people and BI tools: dates, customer ids and amounts in reporting
-- currency (both sides at the opening month's rate). See int_mrr_movements for the rules.

with movements as (
    select * from int_mrr_movements
),

final as (
    select
        {{ month_date("movements.month_idx") }} as month,
        movements.customer_id,
        movements.movement,
        cast(movements.amount as double) as amount,
        cast(movements.previous_mrr as double) as previous_mrr,
        cast(movements.mrr as double) as mrr,
        movements.churn_kind,
        movements.acv_band,
        segments.currency,
        {%- for dim in attributes %}
        segments.{{ q(dim) }},
        {%- endfor %}
    from movements
    inner join int_segments as segments on movements.segment_key = segments.segment_key
)

select * from final
