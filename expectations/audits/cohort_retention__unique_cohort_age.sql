-- Cohort cells repeated for the same cohort month and age.
select cohort_month, age_months, count(*) as copies
from cohort_retention
group by cohort_month, age_months
having count(*) > 1
order by cohort_month, age_months
