-- Customer-months that appear more than once: every figure sums this table, so a repeated
-- row counts a customer's MRR twice.
select customer_id, month, count(*) as copies, sum(mrr) as mrr_total
from customer_mrr_monthly
group by customer_id, month
having count(*) > 1
order by month, customer_id
