-- The ledger file was last written before the closed month ended: it cannot know the
-- month's last changes (freshness).
select p.ledger_modified_at, p.close_end
from validation_parameters as p
where p.ledger_modified_at < p.close_end
