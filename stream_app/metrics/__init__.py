"""Prometheus: the pipeline's health metrics, the KPI counters and the scrape-time collector."""
