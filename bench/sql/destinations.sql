-- First destinations: per graduation cohort and participation, the NACE knowledge and career-outcomes rates.
with participants as (
    select distinct a.student_id
    from placements p
    join applications a on a.application_id = p.application_id
    join students s on s.student_id = a.student_id
    where p.status = 'completed' and p.ended_on <= s.graduation_date
)
select
    year(s.graduation_date) + case when month(s.graduation_date) >= 7 then 1 else 0 end as cohort,
    pt.student_id is not null as participated,
    count(*) as cohort_size,
    count_if(fd.outcome is not null and fd.outcome <> 'no_information') / count(*) as knowledge_rate,
    count_if(fd.outcome in ('employed_full_time', 'employed_part_time', 'self_employed', 'postgrad_internship',
                            'service', 'military', 'continuing_education'))
        / nullif(count_if(fd.outcome not in ('no_information', 'not_seeking')), 0) as career_outcomes_rate,
    median(fd.salary_usd) filter (where fd.outcome in ('employed_full_time', 'employed_part_time', 'self_employed',
        'postgrad_internship', 'service', 'military', 'continuing_education')) as median_salary_usd
from students s
left join participants pt on pt.student_id = s.student_id
left join first_destinations fd on fd.student_id = s.student_id
where s.graduation_date is not null
group by 1, 2;
