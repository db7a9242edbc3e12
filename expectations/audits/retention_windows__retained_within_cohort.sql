-- Retained customers are members of the cohort: 0 <= retained <= cohort.
select as_of, window_months, dimension, segment, cohort_customers, retained_customers
from retention_windows
where retained_customers > cohort_customers or retained_customers < 0
    or cohort_customers < 0
order by as_of, window_months, dimension, segment
