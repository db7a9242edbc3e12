-- Keys of {{ table }} that appear more than once: its grain is one row per
-- ({{ key }}), and a repeated row is counted twice in every figure built on it.
select {{ key }}, count(*) as copies
from {{ table }}
group by {{ key }}
having count(*) > 1
order by copies desc, {{ key }}
