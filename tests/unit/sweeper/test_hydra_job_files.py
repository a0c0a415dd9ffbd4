"""A job dir that cannot take Hydra's config copies: one warning naming the file, no raise (the
sweep's launcher would die with it)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from hydra.core import utils as hydra_utils
from omegaconf import OmegaConf

from sweeper import hydra_job_files


def test_a_config_copy_that_cannot_be_written_is_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    hydra_job_files.install()
    blocker = tmp_path / "job"
    blocker.write_text("a file where the job dir would be")
    cfg = OmegaConf.create({"concurrency": 8})
    with caplog.at_level(logging.WARNING):
        hydra_utils._save_config(cfg, "config.yaml", blocker / ".hydra")  # no raise
    (record,) = [r for r in caplog.records if r.name == hydra_job_files.__name__]
    assert record.getMessage() == (
        f"cannot write {blocker / '.hydra' / 'config.yaml'}: [Errno 20] Not a directory"
    )
    # a writable dir still gets its copy
    hydra_utils._save_config(cfg, "config.yaml", tmp_path / "ok" / ".hydra")
    assert OmegaConf.load(tmp_path / "ok" / ".hydra" / "config.yaml").concurrency == 8
