-- Customers with more than one movement in a month: a customer's change from one month end
-- to the next is a single movement.
select customer_id, month, count(*) as movements, string_agg(movement, ', ') as kinds
from mrr_movements
group by customer_id, month
having count(*) > 1
order by month, customer_id
