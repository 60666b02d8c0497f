"""The local stack (Kafka, Prometheus, Alertmanager) for a laptop and for CI, without Docker."""
