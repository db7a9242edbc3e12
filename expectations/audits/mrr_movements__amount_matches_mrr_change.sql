{%- from "macros.sql" import cent_tolerance %}
-- Movements whose amount is not the change their kind defines (metrics.md section 2):
-- new / reactivation = current, expansion = current - previous,
-- contraction = previous - current, churn = previous (and current 0). Half a cent tolerance.
with expected as (
    select
        *,
        case movement
            when 'new' then mrr
            when 'reactivation' then mrr
            when 'expansion' then mrr - previous_mrr
            when 'contraction' then previous_mrr - mrr
            when 'churn' then previous_mrr
        end as expected_amount,
        case movement
            when 'new' then previous_mrr = 0 and mrr > 0
            when 'reactivation' then previous_mrr = 0 and mrr > 0
            when 'expansion' then previous_mrr > 0 and mrr > previous_mrr
            when 'contraction' then mrr > 0 and mrr < previous_mrr
            when 'churn' then previous_mrr > 0 and mrr = 0
        end as condition_holds
    from mrr_movements
)

select customer_id, month, movement, amount, expected_amount, previous_mrr, mrr
from expected
where not coalesce(condition_holds, false)
    or abs(amount - expected_amount) >= {{ cent_tolerance() }}
order by month, customer_id
