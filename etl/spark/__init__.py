"""The same load and the same figures on Apache Spark (`mio load --engine spark --lake URI`): for sources larger than
one machine. The checks and figures are the DuckDB engine's own SQL, transpiled to Spark's dialect by sqlglot
(etl/spark/sql.py); the warehouse is a Parquet lake with one folder per load and a pointer file (etl/spark/lake.py)."""
