-- Participation by a student attribute: of the students in the population, how many applied, were selected and
-- completed a micro-internship. {dimension} is one of the coded student columns of student_groups
-- (fact_applications carries the same values for each student); {where} filters applications and {student_where} filters students, both with bound
-- parameters only. {applicants}, {selected} and {participants} are exact distinct counts of student_key (bitmaps or
-- hash sets, chosen in insights.py as for the outcome table).
with people as (select * from student_groups),
population as (
    select {dimension} as "group", count(*) as students from people where {student_where} group by 1
),
applied as (
    select {dimension} as "group", {applicants} as applicants, {selected} as selected_students
    from fact_applications
    where {where}
    group by 1
),
placed as (
    select {dimension} as "group", {participants} as participants
    from fact_placements
    where {where}
    group by 1
)
select
    p."group",
    p.students,
    coalesce(a.applicants, 0) as applicants,
    coalesce(a.selected_students, 0) as selected_students,
    coalesce(d.participants, 0) as participants
from population p
left join applied a on a."group" = p."group"
left join placed d on d."group" = p."group"
