-- NRR = (start + expansion - contraction - churn) / start and
-- GRR = (start - contraction - churn) / start; a window with no starting MRR has no NRR.
select
    as_of, window_months, dimension, segment, start_mrr, expansion, contraction, churn,
    nrr, grr
from retention_windows
where (start_mrr > 0 and (
        nrr is null or grr is null
        or abs(nrr - (start_mrr + expansion - contraction - churn) / start_mrr) > 1e-9
        or abs(grr - (start_mrr - contraction - churn) / start_mrr) > 1e-9))
    or (coalesce(start_mrr, 0) = 0 and (nrr is not null or grr is not null))
order by as_of, window_months, dimension, segment
