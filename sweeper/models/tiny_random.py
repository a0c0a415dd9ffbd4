"""A tiny random-weight Llama + byte-level BPE tokenizer, generated offline (no hub, no torch).

The folder is a regular Hugging Face model folder (config.json, model.safetensors,
tokenizer.json, tokenizer_config.json with a chat template) that vLLM and transformers load
like any other. Generation is deterministic (fixed seed, fixed corpus) and atomic (a temporary
folder renamed into place), so concurrent first uses never see a half-written model.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

# bump when the generated files change, so caches regenerate
GENERATOR_VERSION = 1

BOS = "<|begin_of_text|>"
EOS = "<|end_of_text|>"
PAD = "<|pad|>"
SPECIAL_TOKENS = [BOS, EOS, PAD]

CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "<|{{ message['role'] }}|>\n{{ message['content'] }}{{ eos_token }}\n"
    "{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)

_WORD_TEXT = (
    "the a of to and in is it you that he was for on are with as his they be at one have this "
    "from or had by word but what some we can out other were all there when up use your how "
    "said an each she which do their time if will way about many then them write would like "
    "so these her long make thing see him two has look more day could go come did number "
    "sound no most people my over know water than call first who may down side been now find "
    "token model server request latency throughput benchmark prefix cache batch decode prefill"
)


@dataclass(frozen=True)
class TinyRandomSpec:
    """Shape of the generated model; every field enters the cache key."""

    hidden_size: int = 256
    intermediate_size: int = 512
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    num_key_value_heads: int = 4
    vocab_size: int = 2048
    max_position_embeddings: int = 4096
    seed: int = 0

    def key(self) -> str:
        blob = json.dumps({"v": GENERATOR_VERSION, **asdict(self)}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]


def cache_dir() -> Path:
    """`$SWEEPER_CACHE_DIR`, else `~/.cache/sweeper`."""
    env = os.environ.get("SWEEPER_CACHE_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "sweeper"


def ensure(spec: TinyRandomSpec | None = None, root: Path | None = None) -> Path:
    """The model folder for `spec`, generated on first use."""
    spec = spec or TinyRandomSpec()
    parent = (root or cache_dir()) / "models"
    target = parent / f"tiny-random-llama-{spec.key()}"
    if (target / "config.json").is_file():
        return target
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tiny-random-", dir=parent))
    try:
        write(tmp, spec)
        try:
            tmp.rename(target)
        except OSError:
            # another process won the race; its folder is complete (renames are atomic)
            if not (target / "config.json").is_file():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def write(folder: Path, spec: TinyRandomSpec) -> None:
    """Write the tokenizer, config and weights into an existing empty folder."""
    vocab_size = _write_tokenizer(folder, spec)
    _write_config(folder, spec, vocab_size)
    _write_weights(folder, spec, vocab_size)


def _corpus(seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    words = np.array(_WORD_TEXT.split())
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    lines = []
    for _ in range(2000):
        n = int(rng.integers(4, 16))
        lines.append(" ".join(words[rng.integers(0, len(words), n)]) + ".")
        # made-up words give the BPE trainer enough distinct pairs to fill the vocabulary
        made_up = ("".join(letters[rng.integers(0, 26, int(rng.integers(2, 9)))]) for _ in range(8))
        lines.append(" ".join(made_up))
    lines.append("".join(chr(c) for c in range(32, 127)))
    return lines


def _write_tokenizer(folder: Path, spec: TinyRandomSpec) -> int:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=spec.vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_corpus(spec.seed), trainer=trainer)
    tok.save(str(folder / "tokenizer.json"))
    tokenizer_config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": BOS,
        "eos_token": EOS,
        "pad_token": PAD,
        "add_bos_token": False,
        "model_max_length": spec.max_position_embeddings,
        "clean_up_tokenization_spaces": False,
        "chat_template": CHAT_TEMPLATE,
    }
    _dump(folder / "tokenizer_config.json", tokenizer_config)
    _dump(
        folder / "special_tokens_map.json", {"bos_token": BOS, "eos_token": EOS, "pad_token": PAD}
    )
    return tok.get_vocab_size()


def _write_config(folder: Path, spec: TinyRandomSpec, vocab_size: int) -> None:
    bos_id, eos_id, pad_id = range(len(SPECIAL_TOKENS))  # specials come first in the vocab
    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": spec.hidden_size,
        "intermediate_size": spec.intermediate_size,
        "num_hidden_layers": spec.num_hidden_layers,
        "num_attention_heads": spec.num_attention_heads,
        "num_key_value_heads": spec.num_key_value_heads,
        "head_dim": spec.hidden_size // spec.num_attention_heads,
        "vocab_size": vocab_size,
        "max_position_embeddings": spec.max_position_embeddings,
        "hidden_act": "silu",
        "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0,
        "tie_word_embeddings": False,
        "attention_bias": False,
        "mlp_bias": False,
        "bos_token_id": bos_id,
        "eos_token_id": eos_id,
        "pad_token_id": pad_id,
        "torch_dtype": "float32",
        "dtype": "float32",
    }
    _dump(folder / "config.json", config)
    generation = {"bos_token_id": bos_id, "eos_token_id": eos_id, "pad_token_id": pad_id}
    _dump(folder / "generation_config.json", generation)


def _write_weights(folder: Path, spec: TinyRandomSpec, vocab_size: int) -> None:
    from safetensors.numpy import save_file

    rng = np.random.default_rng(spec.seed)
    h, inter = spec.hidden_size, spec.intermediate_size
    head_dim = h // spec.num_attention_heads
    kv = spec.num_key_value_heads * head_dim

    def normal(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape, dtype=np.float32) * 0.02).astype(np.float32)

    tensors: dict[str, np.ndarray] = {"model.embed_tokens.weight": normal(vocab_size, h)}
    for i in range(spec.num_hidden_layers):
        p = f"model.layers.{i}."
        tensors[p + "input_layernorm.weight"] = np.ones(h, dtype=np.float32)
        tensors[p + "self_attn.q_proj.weight"] = normal(h, h)
        tensors[p + "self_attn.k_proj.weight"] = normal(kv, h)
        tensors[p + "self_attn.v_proj.weight"] = normal(kv, h)
        tensors[p + "self_attn.o_proj.weight"] = normal(h, h)
        tensors[p + "post_attention_layernorm.weight"] = np.ones(h, dtype=np.float32)
        tensors[p + "mlp.gate_proj.weight"] = normal(inter, h)
        tensors[p + "mlp.up_proj.weight"] = normal(inter, h)
        tensors[p + "mlp.down_proj.weight"] = normal(h, inter)
    tensors["model.norm.weight"] = np.ones(h, dtype=np.float32)
    tensors["lm_head.weight"] = normal(vocab_size, h)
    save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})


def _dump(path: Path, obj: object) -> None:
    path.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n")
