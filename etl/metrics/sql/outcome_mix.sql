-- First-destination outcomes per cohort and participation; students without a record count as 'no record'.
select cohort, participated, coalesce(outcome, 'no record') as outcome, count(*) as students
from student_destinations
where {where}
group by 1, 2, 3
