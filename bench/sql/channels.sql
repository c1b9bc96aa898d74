-- Channels: the outcome table by channel, by platform, and by platform and channel, with projects.
{base}
select channel,
{measures},
    count(distinct project_id) as projects
from base group by all;
{base}
select platform,
{measures},
    count(distinct project_id) as projects
from base group by all;
{base}
select platform, channel,
{measures},
    count(distinct project_id) as projects
from base group by all;
