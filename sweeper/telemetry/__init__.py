"""Server-side telemetry: /metrics scraping, GPU telemetry, environment capture."""
