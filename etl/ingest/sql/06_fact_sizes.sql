-- The students and projects that have applications: the groups below are the values these hold (what the view
-- fact_applications would give), read from the small tables instead of through the view's joins.
create or replace temp table applied_students as select distinct student_key from application_facts;
create or replace temp table applied_projects as select distinct project_key from application_facts;

-- The values each sidebar filter offers, in display order (terms by date).
create or replace table filter_values as
select 'term' as column_name, term as value, row_number() over (order by min(term_start), term) as position
from application_facts group by term
union all
select 'institution', institution, row_number() over (order by institution)
from student_groups semi join applied_students using (student_key) group by institution
union all
select 'class_level', class_level, row_number() over (order by class_level)
from student_groups semi join applied_students using (student_key) group by class_level
union all
select 'industry', industry, row_number() over (order by industry)
from project_groups semi join applied_projects using (project_key) group by industry
union all
select 'platform', platform, row_number() over (order by platform)
from project_groups semi join applied_projects using (project_key) group by platform
union all
select 'function', function, row_number() over (order by function)
from project_groups semi join applied_projects using (project_key) group by function
union all
select 'major', major, row_number() over (order by major)
from student_groups semi join applied_students using (student_key) where major is not null group by major
union all
select 'college', college, row_number() over (order by college)
from student_groups semi join applied_students using (student_key) where college is not null group by college;

-- How many distinct values each grouping column of fact_applications holds, and how many students and projects
-- the keys number: the outcome query uses them to choose between a bitmap and a hash set for distinct counts.
create or replace table fact_sizes as
with projects as (
    select
        count(distinct industry) as industry,
        count(distinct function) as function,
        count(distinct platform) as platform,
        count(distinct employer) as employer,
        count(distinct employer_id) as employer_id,
        count(distinct project_id) as project_id,
        count(distinct remote) as remote,
        count(distinct pay_band) as pay_band,
        count(distinct hours_band) as hours_band
    from project_groups semi join applied_projects using (project_key)
),
students as (
    select
        count(distinct institution) as institution,
        count(distinct class_level) as class_level,
        count(distinct first_generation) as first_generation,
        count(distinct pell_eligible) as pell_eligible,
        count(distinct gender) as gender,
        count(distinct race_ethnicity) as race_ethnicity,
        count(distinct major) as major,
        count(distinct college) as college
    from student_groups semi join applied_students using (student_key)
),
applications as (
    select count(distinct channel) as channel, count(distinct term) as term from application_facts
)
select
    (select count(*) from main.students) as students,
    (select count(*) from micro_internships) as projects,
    p.industry, p.function, p.platform, a.channel, p.employer, p.employer_id, p.project_id, s.institution,
    s.class_level, s.first_generation, s.pell_eligible, p.remote, p.pay_band, p.hours_band, a.term, s.gender,
    s.race_ethnicity, s.major, s.college
from projects p, students s, applications a;

drop table applied_students;
drop table applied_projects;
