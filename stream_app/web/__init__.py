"""The worker's HTTP side: /metrics, /healthz, the KPI API, cluster fan-out and the wallboard."""
