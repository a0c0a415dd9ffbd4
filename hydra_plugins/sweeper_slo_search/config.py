"""`hydra/sweeper=slo_search` options (ConfigStore; Hydra imports this with the plugin).

No `from __future__ import annotations` here: Hydra's plugin scan executes the modules of
hydra_plugins/ without registering them in sys.modules, and dataclasses then cannot resolve
string annotations. Logic lives in `sweeper.slo_search`, imported normally.
"""

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore


@dataclass
class SloSearchConf:
    _target_: str = "hydra_plugins.sweeper_slo_search.slo_search.SloSearchSweeper"
    # the load to search: request_rate (open loop; set concurrency=null for no cap) or concurrency
    param: str = "request_rate"
    # the bracket: `low` is assumed to meet the SLOs, `high` to miss them (both may be tried)
    low: float = 1.0
    high: float = 64.0
    # trials per server config
    max_trials: int = 8
    # stop once high/low - 1 <= tolerance
    tolerance: float = 0.05
    # upper bounds on the job's summary keys (vLLM names); failed_fraction bounds failed requests
    slo: dict[str, float] = field(
        default_factory=lambda: {"p99_ttft_ms": 500.0, "p99_tpot_ms": 50.0, "failed_fraction": 0.0}
    )
    # sweep params as in the BasicSweeper's hydra.sweeper.params (server configs to search)
    params: dict[str, Any] | None = None


ConfigStore.instance().store(
    group="hydra/sweeper", name="slo_search", node=SloSearchConf, provider="sweeper"
)
