"""Drawing with the standard library only: SVG charts (``svg_charts``), the charts of runs and
sections (``charts``), HTML tables (``html_tables``) and chart data such as smoothing and the
section model (``chart_data``).

Nothing here reads a run or imports wandb; the dashboard, the report and the panels hand in
the numbers.
"""
