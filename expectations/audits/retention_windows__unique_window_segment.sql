-- Windows repeated for the same end month, length and segment.
select as_of, window_months, dimension, segment, count(*) as copies
from retention_windows
group by as_of, window_months, dimension, segment
having count(*) > 1
order by as_of, window_months, dimension, segment
