-- docs/data-contract.md §7: NACE first-destination rates per cohort and participation. {where} holds only
-- bound-parameter filters.
select
    cohort,
    participated,
    count(*) as cohort_size,
    sum(case when outcome is not null and outcome <> 'no_information' then 1 else 0 end) as known,
    sum(case when outcome in {positive} then 1 else 0 end) as positive,
    sum(case when outcome is not null and outcome not in ('no_information', 'not_seeking') then 1 else 0 end)
        as career_denominator,
    percentile_cont(0.5) within group (
        order by case when outcome in {positive} then salary_usd end
    ) as median_salary_usd
from student_destinations
where {where}
group by 1, 2
