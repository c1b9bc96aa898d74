"""The metrics layer: every figure the product shows, defined once, as SQL over the warehouse (under `sql/`).

`outcomes` holds the contract's tables and the one disclosure rule; `insights` the director's analyses; `audience`
the employer and student views; `quality` what the loads did; `report` the shareable HTML; `export` formula-safe
CSV. The report command, the dashboard and every download call these; nothing else computes a figure.
"""
