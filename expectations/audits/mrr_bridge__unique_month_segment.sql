-- Bridge rows repeated for the same month and segment.
select month, dimension, segment, count(*) as copies
from mrr_bridge
group by month, dimension, segment
having count(*) > 1
order by month, dimension, segment
