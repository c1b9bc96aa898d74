-- Equity: the outcome table by first generation, and students who applied, were selected and completed.
{base}
select first_generation,
{measures}
from base group by 1;
select
    s.first_generation,
    count(*) as students,
    count(a.student_id) as applicants,
    count_if(a.selected) as selected_students,
    count_if(a.completed) as participants
from students s
left join (
    select a.student_id, bool_or(a.status = 'selected') as selected, bool_or(p.status = 'completed') as completed
    from applications a
    left join placements p on p.application_id = a.application_id
    group by 1
) a on a.student_id = s.student_id
group by 1;
