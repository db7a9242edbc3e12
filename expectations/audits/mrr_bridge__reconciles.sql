{%- from "macros.sql" import cent_tolerance %}
-- Months and segments where opening + new + reactivation + expansion - contraction - churn
-- differs from the closing MRR (at the opening month's rates) by half a cent or more.
select month, dimension, segment, opening_mrr, closing_mrr_constant, difference
from mrr_bridge
where abs(difference) >= {{ cent_tolerance() }} or difference is null
order by abs(difference) desc nulls first, month
