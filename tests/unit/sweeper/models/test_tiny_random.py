from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from safetensors.numpy import load_file
from tokenizers import Tokenizer

from instruments.errors import ConfigError
from launchers.config import ModelConfig
from sweeper.models import materialize, tiny_random


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_generation_is_deterministic_and_leaves_no_temp(tmp_path: Path) -> None:
    a = tiny_random.ensure(root=tmp_path / "a")
    b = tiny_random.ensure(root=tmp_path / "b")
    assert digests(a) == digests(b)
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"} <= set(
        digests(a)
    )
    assert [p.name for p in a.parent.iterdir()] == [a.name]  # temp dir renamed away


def test_second_call_reuses_the_folder(tmp_path: Path) -> None:
    first = tiny_random.ensure(root=tmp_path)
    mtime = (first / "model.safetensors").stat().st_mtime_ns
    assert tiny_random.ensure(root=tmp_path) == first
    assert (first / "model.safetensors").stat().st_mtime_ns == mtime


def test_spec_changes_the_cache_key(tmp_path: Path) -> None:
    small = tiny_random.TinyRandomSpec(num_hidden_layers=1)
    assert tiny_random.ensure(small, tmp_path) != tiny_random.ensure(root=tmp_path)


def test_weights_match_config(tmp_path: Path) -> None:
    folder = tiny_random.ensure(root=tmp_path)
    config = json.loads((folder / "config.json").read_text())
    weights = load_file(str(folder / "model.safetensors"))
    h, v = config["hidden_size"], config["vocab_size"]
    assert config["architectures"] == ["LlamaForCausalLM"]
    assert (config["num_hidden_layers"], h) == (2, 256)
    assert weights["model.embed_tokens.weight"].shape == (v, h)
    assert weights["lm_head.weight"].shape == (v, h)
    layers = {k.split(".")[2] for k in weights if k.startswith("model.layers.")}
    assert layers == {"0", "1"}
    assert weights["model.layers.1.mlp.down_proj.weight"].shape == (h, config["intermediate_size"])
    assert 0.01 < float(weights["model.layers.0.self_attn.q_proj.weight"].std()) < 0.03


def test_tokenizer_roundtrips_and_has_specials(tmp_path: Path) -> None:
    folder = tiny_random.ensure(root=tmp_path)
    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    config = json.loads((folder / "config.json").read_text())
    assert tok.get_vocab_size() == config["vocab_size"] == 2048
    text = "The server's prefix cache: héllo wörld 🚀 {json} 123"
    ids = tok.encode(text).ids
    assert tok.decode(ids) == text  # byte-level: any text survives
    assert len(ids) < len(text.encode())  # merges are learnt
    assert tok.token_to_id(tiny_random.EOS) == config["eos_token_id"]
    assert tok.token_to_id(tiny_random.BOS) == config["bos_token_id"]


def test_chat_template_renders(tmp_path: Path) -> None:
    jinja2 = pytest.importorskip("jinja2")
    folder = tiny_random.ensure(root=tmp_path)
    tc = json.loads((folder / "tokenizer_config.json").read_text())
    out = jinja2.Template(tc["chat_template"]).render(
        messages=[{"role": "user", "content": "hi"}],
        add_generation_prompt=True,
        bos_token=tc["bos_token"],
        eos_token=tc["eos_token"],
    )
    assert out == f"{tiny_random.BOS}<|user|>\nhi{tiny_random.EOS}\n<|assistant|>\n"


def test_materialize(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWEEPER_CACHE_DIR", str(tmp_path / "cache"))
    plain = ModelConfig(name="m", path="/x")
    assert materialize(plain) is plain
    m = materialize(ModelConfig(name="tiny", generate="tiny-random", max_model_len=128))
    assert m.path == m.tokenizer
    assert m.path is not None and Path(m.path).parent == tmp_path / "cache" / "models"
    assert (m.name, m.max_model_len) == ("tiny", 128)
    with pytest.raises(ConfigError, match=r"^model\.generate: unknown generator 'nope'"):
        materialize(ModelConfig(generate="nope"))


def test_command_line_prints_the_generated_folder(tmp_path: Path) -> None:
    env = {**os.environ, "SWEEPER_CACHE_DIR": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-m", "sweeper.models", "tiny-random"],
        capture_output=True, text=True, env=env, timeout=120, check=True, start_new_session=True,
    )  # fmt: skip
    folder = Path(out.stdout.strip())
    assert folder.parent == tmp_path / "models"
    assert (folder / "model.safetensors").is_file()
    bad = subprocess.run(
        [sys.executable, "-m", "sweeper.models", "nope"],
        capture_output=True, text=True, env=env, timeout=120, start_new_session=True,
    )  # fmt: skip
    assert bad.returncode == 2 and "invalid choice: 'nope'" in bad.stderr
