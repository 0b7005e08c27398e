"""KPIs: pure formulas over interaction records (``kpis``), and the shells that load the
records, serve the reports (API, CSV, Prometheus) and draw the supervisor's charts."""
