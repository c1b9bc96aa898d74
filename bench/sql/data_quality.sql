-- Data quality: the last load's files and its quarantined rows by entity, column and rule.
select entity, file, rows_read, rows_loaded, rows_quarantined
from load_files where load_id = (select max(load_id) from load_files);
select entity, column_name, rule, count(*) as rows
from quarantine where load_id = (select max(load_id) from load_history)
group by all;
