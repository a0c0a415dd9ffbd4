"""Everything a job can check or build before a server starts: cheap validation
(`RunSpec.validate`, the dataset's checks), the model's local files, the tokenizer and the sampled
requests. Bad input fails here, in one line."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from launchers.config import ModelConfig
from sweeper.models import materialize
from sweeper.records import RequestSpec, SessionSpec

if TYPE_CHECKING:
    from sweeper.schema import RunSpec


@dataclass
class Prepared:
    model: ModelConfig
    requests: list[RequestSpec]
    # a multi-turn dataset's sessions (warmup sessions first); then `requests` are their first
    # turns, for the checks that look at requests
    sessions: list[SessionSpec] | None = None


def prepare(spec: RunSpec) -> Prepared:
    from sweeper.datasets import load_tokenizer, sample, sample_sessions
    from sweeper.datasets.sessions import first_request
    from sweeper.features.apply import check_backend, decorate

    spec.validate()
    spec.dataset.validate()
    model = materialize(spec.model)  # e.g. model=tiny-random, generated locally on first use
    tokenizer = load_tokenizer(model.tokenizer)
    if spec.dataset.is_sessions():
        from sweeper.client.session_arrivals import check_session_load

        check_session_load(spec.load)
        count = spec.load.num_prompts + spec.load.sessions.warmup_sessions
        sessions = sample_sessions(spec.dataset, count, tokenizer)
        requests = [first_request(s) for s in sessions]
        check_backend(spec.load, requests)
        return Prepared(model, requests, sessions)
    requests = sample(spec.dataset, spec.load.num_prompts, tokenizer)
    decorate(spec.dataset, requests, spec.server, tokenizer)
    check_backend(spec.load, requests)
    return Prepared(model, requests)
