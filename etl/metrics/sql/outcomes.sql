-- docs/data-contract.md §4: the outcome table. {dimension} and {second} are columns of fact_applications chosen from a
-- fixed list ({second} is 'all' for a one-way table); {where} holds only bound-parameter filters, and the same
-- filters run on both scans. Suppression (§5) is applied afterwards, in etl/metrics/outcomes.py. The columns after the
-- contract's feed the dashboard.
--
-- Application figures scan fact_applications; placement figures scan fact_placements, its few per cent of rows
-- that became placements. {students}, {projects}, {selectees}, {completers}, {offer_holders} and {converters} are
-- exact distinct counts of student_key and project_key (the students behind each stage: the disclosure rule in
-- etl/metrics/disclosure.py reads them): bitmaps (bit_count(bitstring_agg(...))) when the groups are few, hash sets (count(distinct ...))
-- when bitmaps for every group would not fit a fixed memory budget; metrics.py chooses.
-- {cells} is empty for one grouping; for every stored grouping at once (etl/metrics/outcomes.py, outcome_cells_sql)
-- it crosses each fact with the list of groupings, and {dimension} then names the grouping as well as the group.
with applied as (
    select
        {dimension} as "group",
        {second} as group2,
        count(*) as applications,
        {students} as applicants,
        count_if(status = 'selected') as selected,
        count_if(status <> 'withdrawn') as not_withdrawn,
        {projects} as projects,
        {selectees} as selectees
    from fact_applications{cells}
    where {where}
    group by 1, 2
),
placed as (
    select
        {dimension} as "group",
        {second} as group2,
        count(*) as placements,
        count_if(placement_status = 'completed') as completed,
        count_if(placement_status in ('completed', 'cancelled', 'no_show')) as closed,
        count_if(placement_status = 'completed' and has_offer) as offers,
        count_if(placement_status = 'completed' and has_accepted_offer) as converted,
        sum(offers_accepted) as offers_accepted,
        sum(offers_accepted + offers_declined) as offers_decided,
        percentile_cont(0.5) within group (order by days_to_offer) as median_days_to_offer,
        {completers} as completers,
        {offer_holders} as offer_holders,
        {converters} as converters,
        avg(case when placement_status = 'completed' then employer_rating end) as employer_rating,
        count(case when placement_status = 'completed' then employer_rating end) as ratings_given,
        avg(case when placement_status = 'completed' then student_rating end) as student_rating,
        count(case when placement_status = 'completed' then student_rating end) as ratings_received,
        avg(case when placement_status = 'completed' then new_contacts end) as new_contacts,
        count(case when placement_status = 'completed' then new_contacts end) as contacts_reported,
        avg(case when placement_status = 'completed' then pay_usd / estimated_hours end) as completed_pay_per_hour,
        avg(case when placement_status = 'completed' then estimated_hours end) as completed_hours
    from fact_placements{cells}
    where {where}
    group by 1, 2
)
select
    a."group",
    a.group2,
    a.applications,
    a.applicants,
    a.selected,
    a.not_withdrawn,
    coalesce(p.placements, 0) as placements,
    coalesce(p.completed, 0) as completed,
    coalesce(p.closed, 0) as closed,
    coalesce(p.offers, 0) as offers,
    coalesce(p.converted, 0) as converted,
    coalesce(p.offers_accepted, 0) as offers_accepted,
    coalesce(p.offers_decided, 0) as offers_decided,
    p.median_days_to_offer,
    a.projects,
    a.selectees,
    coalesce(p.completers, 0) as completers,
    coalesce(p.offer_holders, 0) as offer_holders,
    coalesce(p.converters, 0) as converters,
    p.employer_rating,
    coalesce(p.ratings_given, 0) as ratings_given,
    p.student_rating,
    coalesce(p.ratings_received, 0) as ratings_received,
    p.new_contacts,
    coalesce(p.contacts_reported, 0) as contacts_reported,
    p.completed_pay_per_hour,
    p.completed_hours
from applied a
left join placed p on p."group" is not distinct from a."group" and p.group2 is not distinct from a.group2
