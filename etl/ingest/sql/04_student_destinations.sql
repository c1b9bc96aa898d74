-- docs/data-contract.md §7: one row per student with a graduation date. The cohort is the July-June year of
-- graduation ('2025' = 2024-07-01 .. 2025-06-30); a student participated with at least one completed placement
-- that ended on or before graduation.
create or replace table student_destinations as
with participants as (
    select distinct a.student_id, s.graduation_date
    from placements p
    join applications a on a.application_id = p.application_id
    join students s on s.student_id = a.student_id
    where p.status = 'completed' and p.ended_on <= s.graduation_date
)
select
    s.student_id,
    g.institution,
    g.class_level,
    g.major,
    g.college,
    s.graduation_date,
    cast(extract(year from s.graduation_date) + case when extract(month from s.graduation_date) >= 7 then 1 else 0 end
         as varchar) as cohort,
    case when pt.student_id is not null then 'yes' else 'no' end as participated,
    fd.outcome,
    fd.industry as destination_industry,
    fd.employer_name as destination_employer,
    fd.salary_usd
from students s
join student_groups g on g.student_id = s.student_id
left join participants pt on pt.student_id = s.student_id
left join first_destinations fd on fd.student_id = s.student_id
where s.graduation_date is not null;
