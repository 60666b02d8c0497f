"""ccmon: real-time contact-center KPIs from Kafka events, for wallboards, Grafana and on-call."""

__version__ = "0.1.0"
