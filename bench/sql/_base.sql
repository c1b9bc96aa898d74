-- The applications with their student, project, placement and attributed offers, joined at query time; each
-- page's hand-written SQL starts from it as {base}.
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
