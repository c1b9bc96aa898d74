"""Ingest: the input contract, reading files (in the contract's shape or through a mapping), validation with the
Great Expectations suites, the all-or-nothing loader, and the derived tables it builds (SQL under `sql/`).

Ingest writes the warehouse; it never imports the metrics layer.
"""
