-- Rows of {{ table }} whose {{ column }} names no {{ parent }} row ({{ parent_key | default("id") }}):
-- an orphan points at data the lake does not have.
select child.{{ id | default("id") }}, child.{{ column }}
from {{ table }} as child
where child.{{ column }} is not null
    and not exists (
        select 1 from {{ parent }} as parent
        where parent.{{ parent_key | default("id") }} = child.{{ column }}
    )
order by child.{{ column }}, child.{{ id | default("id") }}
