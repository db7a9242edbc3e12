-- MRR movements, compactly: one row per customer and month whose MRR changed, the customer
-- as its key into customer_cohorts and its segment as a key into customer_segments;
-- mrr_movements is the readable view over the three. Amounts
-- in reporting currency, both sides at the opening month's rate. See int_mrr_movements for
-- the rules.

with movements as (
    select * from int_mrr_movements
),

final as (
    select
        {{ month_date("movements.month_idx") }} as month,
        movements.customer_key,
        movements.movement,
        cast(movements.amount as double) as amount,
        cast(movements.previous_mrr as double) as previous_mrr,
        cast(movements.mrr as double) as mrr,
        movements.churn_kind,
        movements.acv_band,
        movements.segment_key
    from movements
)

select * from final
