-- One row per project, for the employer view: applications, selections, outcomes, ratings, and the days from
-- posting to the first application and to the first selection. {scope} is m.employer_id (one employer's projects)
-- or e.industry (an industry's, for comparisons); its value is a bound parameter.
with per_project as (
    select
        project_id,
        count(*) as applications,
        sum(case when status = 'selected' then 1 else 0 end) as selected,
        sum(case when status <> 'withdrawn' then 1 else 0 end) as not_withdrawn,
        min(applied_at) as first_applied,
        min(case when status = 'selected' then coalesce(decided_at, started_on) end) as first_selected,
        sum(case when placement_status = 'completed' then 1 else 0 end) as completed,
        sum(case when placement_status in ('completed', 'cancelled', 'no_show') then 1 else 0 end) as closed,
        sum(case when placement_status = 'completed' and has_offer then 1 else 0 end) as offers,
        sum(case when placement_status = 'completed' and has_accepted_offer then 1 else 0 end) as converted,
        sum(case when placement_status = 'completed' then employer_rating end) as rating_given_sum,
        count(case when placement_status = 'completed' then employer_rating end) as rating_given_n,
        sum(case when placement_status = 'completed' then student_rating end) as rating_received_sum,
        count(case when placement_status = 'completed' then student_rating end) as rating_received_n
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
    coalesce(p.applications, 0) as applications,
    coalesce(p.selected, 0) as selected,
    coalesce(p.not_withdrawn, 0) as not_withdrawn,
    coalesce(p.completed, 0) as completed,
    coalesce(p.closed, 0) as closed,
    coalesce(p.offers, 0) as offers,
    coalesce(p.converted, 0) as converted,
    cast(p.first_applied as date) - m.posted_date as days_to_first_applicant,
    cast(p.first_selected as date) - m.posted_date as days_to_first_selection,
    coalesce(p.rating_given_sum, 0) as rating_given_sum,
    coalesce(p.rating_given_n, 0) as rating_given_n,
    coalesce(p.rating_received_sum, 0) as rating_received_sum,
    coalesce(p.rating_received_n, 0) as rating_received_n
from micro_internships m
join employers e on e.employer_id = m.employer_id
left join per_project p on p.project_id = m.project_id
where {scope} = ?
