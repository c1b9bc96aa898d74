-- Channels: the outcome table by channel, by platform, and by platform and channel, with projects.
with base as (
    select a.application_id, a.student_id, a.project_id, a.status, a.channel, a.applied_at,
           s.institution, s.first_generation, m.employer_id, m.industry, m.platform, m.pay_usd, m.estimated_hours,
           p.placement_id, p.status as placement_status, po.attributed_offers, po.offers_accepted,
           po.offers_declined, po.first_offer_on - p.ended_on as days_to_offer
    from applications a
    join students s on s.student_id = a.student_id
    join micro_internships m on m.project_id = a.project_id
    left join placements p on p.application_id = a.application_id
    left join placement_outcomes po on po.placement_id = p.placement_id
)
select channel,
    count(*) as applications,
    count(distinct student_id) as applicants,
    count_if(status = 'selected') / nullif(count_if(status <> 'withdrawn'), 0) as selection_rate,
    count(placement_id) as placements,
    count_if(placement_status = 'completed') as completed,
    count_if(placement_status = 'completed') / nullif(count_if(placement_status in ('completed', 'cancelled', 'no_show')), 0) as completion_rate,
    count_if(placement_status = 'completed' and attributed_offers > 0) / nullif(count_if(placement_status = 'completed'), 0) as offer_rate,
    count_if(placement_status = 'completed' and offers_accepted > 0) / nullif(count_if(placement_status = 'completed'), 0) as conversion_rate,
    sum(offers_accepted) / nullif(sum(offers_accepted + offers_declined), 0) as acceptance_rate,
    median(days_to_offer) as median_days_to_offer,
    count(distinct project_id) as projects
from base group by all;
with base as (
    select a.application_id, a.student_id, a.project_id, a.status, a.channel, a.applied_at,
           s.institution, s.first_generation, m.employer_id, m.industry, m.platform, m.pay_usd, m.estimated_hours,
           p.placement_id, p.status as placement_status, po.attributed_offers, po.offers_accepted,
           po.offers_declined, po.first_offer_on - p.ended_on as days_to_offer
    from applications a
    join students s on s.student_id = a.student_id
    join micro_internships m on m.project_id = a.project_id
    left join placements p on p.application_id = a.application_id
    left join placement_outcomes po on po.placement_id = p.placement_id
)
select platform,
    count(*) as applications,
    count(distinct student_id) as applicants,
    count_if(status = 'selected') / nullif(count_if(status <> 'withdrawn'), 0) as selection_rate,
    count(placement_id) as placements,
    count_if(placement_status = 'completed') as completed,
    count_if(placement_status = 'completed') / nullif(count_if(placement_status in ('completed', 'cancelled', 'no_show')), 0) as completion_rate,
    count_if(placement_status = 'completed' and attributed_offers > 0) / nullif(count_if(placement_status = 'completed'), 0) as offer_rate,
    count_if(placement_status = 'completed' and offers_accepted > 0) / nullif(count_if(placement_status = 'completed'), 0) as conversion_rate,
    sum(offers_accepted) / nullif(sum(offers_accepted + offers_declined), 0) as acceptance_rate,
    median(days_to_offer) as median_days_to_offer,
    count(distinct project_id) as projects
from base group by all;
with base as (
    select a.application_id, a.student_id, a.project_id, a.status, a.channel, a.applied_at,
           s.institution, s.first_generation, m.employer_id, m.industry, m.platform, m.pay_usd, m.estimated_hours,
           p.placement_id, p.status as placement_status, po.attributed_offers, po.offers_accepted,
           po.offers_declined, po.first_offer_on - p.ended_on as days_to_offer
    from applications a
    join students s on s.student_id = a.student_id
    join micro_internships m on m.project_id = a.project_id
    left join placements p on p.application_id = a.application_id
    left join placement_outcomes po on po.placement_id = p.placement_id
)
select platform, channel,
    count(*) as applications,
    count(distinct student_id) as applicants,
    count_if(status = 'selected') / nullif(count_if(status <> 'withdrawn'), 0) as selection_rate,
    count(placement_id) as placements,
    count_if(placement_status = 'completed') as completed,
    count_if(placement_status = 'completed') / nullif(count_if(placement_status in ('completed', 'cancelled', 'no_show')), 0) as completion_rate,
    count_if(placement_status = 'completed' and attributed_offers > 0) / nullif(count_if(placement_status = 'completed'), 0) as offer_rate,
    count_if(placement_status = 'completed' and offers_accepted > 0) / nullif(count_if(placement_status = 'completed'), 0) as conversion_rate,
    sum(offers_accepted) / nullif(sum(offers_accepted + offers_declined), 0) as acceptance_rate,
    median(days_to_offer) as median_days_to_offer,
    count(distinct project_id) as projects
from base group by all;
