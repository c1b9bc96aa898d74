-- Employers: the outcome table by employer, with projects and students who completed.
{base}
select employer_id,
{measures},
    count(distinct project_id) as projects,
    count(distinct case when placement_status = 'completed' then student_id end) as completers
from base group by 1;
