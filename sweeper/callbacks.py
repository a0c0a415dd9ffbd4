"""Hydra callbacks (placeholder; the sweep-level MLflow run is opened here)."""

from __future__ import annotations

from hydra.experimental.callback import Callback


class SweepCallback(Callback):
    pass
