-- The outcome table's figures over `base`, written out; each page's hand-written SQL selects them as {measures}.
    count(*) as applications,
    count(distinct student_id) as applicants,
    count_if(status = 'selected') / nullif(count_if(status <> 'withdrawn'), 0) as selection_rate,
    count(placement_id) as placements,
    count_if(placement_status = 'completed') as completed,
    count_if(placement_status = 'completed') / nullif(count_if(placement_status in ('completed', 'cancelled', 'no_show')), 0) as completion_rate,
    count_if(placement_status = 'completed' and attributed_offers > 0) / nullif(count_if(placement_status = 'completed'), 0) as offer_rate,
    count_if(placement_status = 'completed' and offers_accepted > 0) / nullif(count_if(placement_status = 'completed'), 0) as conversion_rate,
    sum(offers_accepted) / nullif(sum(offers_accepted + offers_declined), 0) as acceptance_rate,
    median(days_to_offer) as median_days_to_offer
