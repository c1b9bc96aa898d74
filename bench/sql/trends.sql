-- Trends: the outcome table by term and institution.
{base}
select year(applied_at) || '-' || case when month(applied_at) <= 5 then 'spring' when month(applied_at) <= 8 then 'summer' else 'fall' end as term, institution,
{measures}
from base group by 1, 2;
