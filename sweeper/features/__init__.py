"""Feature workloads (issue 9): request decorators that compose with every dataset (priority
classes, structured-output constraints), the metrics they need after the run, and the server
figures scraped from `/metrics` (prefix-cache hit rate, speculative-decoding acceptance)."""
