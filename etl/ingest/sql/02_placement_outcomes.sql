-- One row per placement with what its attributed offers add up to.
create or replace table placement_outcomes as
select
    p.placement_id,
    count(oa.offer_id) as attributed_offers,
    sum(case when oa.decision = 'accepted' then 1 else 0 end) as offers_accepted,
    sum(case when oa.decision = 'declined' then 1 else 0 end) as offers_declined,
    min(oa.offered_on) as first_offer_on
from placements p
left join offer_attribution oa on oa.placement_id = p.placement_id
group by p.placement_id;
