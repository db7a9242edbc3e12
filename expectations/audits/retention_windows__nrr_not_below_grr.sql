-- NRR - GRR is the expansion rate, never negative.
select as_of, window_months, dimension, segment, nrr, grr
from retention_windows
where nrr < grr - 1e-9
order by as_of, window_months, dimension, segment
