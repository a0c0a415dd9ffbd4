"""The built-in vLLM simulator: an OpenAI-compatible server whose numbers are simulated.

Run it as `python -m launchers.sim --port PORT [options]`. Layout: `profiles` (parameters and named
presets), `kv_cache` + `scheduler` (vLLM V1-like engine), `engine_loop` (the clock), `openai_api` +
`generation` + `http_app` (HTTP), `prom_metrics` (/metrics), `ground_truth`, `faults`, `cli`.
"""
