-- For the employer view: each project's days from posting to its first application and to its first selection.
-- {scope} is m.employer_id (one employer's projects) or e.industry (an industry's, for comparisons); its value is a
-- bound parameter. Every count and rate of a project comes from the outcome table (outcomes.sql), grouped by
-- project_id; only these two durations are the employer view's own.
with firsts as (
    select
        project_id,
        min(applied_at) as first_applied,
        min(case when status = 'selected' then coalesce(decided_at, started_on) end) as first_selected
    from fact_applications
    group by project_id
)
select
    m.employer_id,
    m.project_id,
    m.title,
    m.function,
    m.platform,
    m.posted_date,
    cast(f.first_applied as date) - m.posted_date as days_to_first_applicant,
    cast(f.first_selected as date) - m.posted_date as days_to_first_selection
from micro_internships m
join employers e on e.employer_id = m.employer_id
left join firsts f on f.project_id = m.project_id
where {scope} = ?
