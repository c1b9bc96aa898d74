-- Participation by a student attribute: of the students in the population, how many applied and how many completed
-- a micro-internship. {dimension} is one of the student columns below; {where} filters applications and
-- {student_where} filters students, both with bound parameters only.
with activity as (
    select
        student_id,
        max(case when status = 'selected' then 1 else 0 end) as selected,
        max(case when placement_status = 'completed' then 1 else 0 end) as completed
    from fact_applications
    where {where}
    group by student_id
),
people as (
    select
        s.student_id,
        coalesce(s.institution, 'unknown') as institution,
        coalesce(s.class_level, 'unknown') as class_level,
        case when s.first_generation then 'yes' when not s.first_generation then 'no' else 'unknown' end
            as first_generation,
        case when s.pell_eligible then 'yes' when not s.pell_eligible then 'no' else 'unknown' end as pell_eligible,
        coalesce(s.gender, 'unknown') as gender,
        coalesce(s.race_ethnicity, 'unknown') as race_ethnicity,
        coalesce(s.major, 'unknown') as major,
        coalesce(s.college, 'unknown') as college
    from students s
)
select
    {dimension} as "group",
    count(*) as students,
    count(a.student_id) as applicants,
    sum(coalesce(a.selected, 0)) as selected_students,
    sum(coalesce(a.completed, 0)) as participants
from people p
left join activity a on a.student_id = p.student_id
where {student_where}
group by 1
