"""The benchmark client: load schedules, request backends, the SSE reader, per-request records.

Load patterns (keys of the `load` group; the top-level `concurrency`/`request_rate` feed them):
- closed loop: `request_rate=inf concurrency=N` (N requests in flight, back to back);
- open loop: `request_rate=R` with `burstiness` 1 (Poisson) or gamma-shaped; send times are
  absolute offsets drawn before the run (no drift); with `concurrency=N` as a cap the time a
  released request waits for a slot is recorded (client queue time);
- ramp-up: `load.ramp_up_strategy=linear|exponential`, `ramp_up_start_rps`, `ramp_up_end_rps`;
- `load.duration_s` instead of a request count (prompts are cycled);
- trace replay: `load.schedule=trace` with a dataset that carries timestamps (trace, burstgpt,
  custom JSONL with "timestamp"), `load.trace_speedup` to compress time;
- warmup: `load.warmup_requests` (sent and awaited first) or `load.warmup_s` (the first seconds
  of the schedule), both excluded from results;
- `load.workers=K` splits the measured phase over K processes when one cannot keep up.

Each `load.schedule` is a variant in `sweeper.client.schedules` (one module each: `rate`,
`trace`) that turns the load and the requests into send offsets (`SendSchedule`).

Backends (`load.backend`): openai-completions, openai-chat, generate (an in-house `/generate`
wrapper; response field paths in `load.generate`), the pooling ones (openai-embeddings, rerank,
score), or your own via `register_backend`; each is registered in `BACKENDS`.
Sampling parameters and any other body fields go in `load.extra_body`; headers in
`load.headers`; the API key is read from the environment variable named by `load.api_key_env`.

Faults (`sweeper.client.failures`): whatever one response does wrong fails that request only,
with a reason in its record (`bad_event`, `event_too_large` over `load.max_event_bytes`,
`incomplete_response`, `timeout` over `load.request_timeout_s` for the whole request,
`idle_timeout` over `load.idle_timeout_s` of silence, `http_<status>`, ...). When
`load.max_connect_failures` requests in a row get no answer at all (refused, reset before the
headers), the server is gone: nothing more is sent, requests never sent get no record, and
`BenchmarkRun.stopped_reason` / `not_sent` say so.
"""
