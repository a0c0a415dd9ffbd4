"""A KV-block pool with optional prefix caching, modelled on vLLM V1's KVCacheManager.

Blocks are counted, not stored. A full prompt block may carry a content hash (chained over the
blocks before it); hashed blocks stay cached after their request frees them, sit in an LRU of
evictable blocks, and are reused by a later request whose prompt starts with the same blocks.
Allocation takes plain free blocks first, then evicts the least recently used cached ones.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field


@dataclass(slots=True)
class CachedBlock:
    block_hash: int
    ref_cnt: int = 0


@dataclass(slots=True)
class BlockTable:
    """The blocks one request holds: hashed (shareable) ones plus a count of plain ones."""

    hashed: list[CachedBlock] = field(default_factory=list)
    num_plain: int = 0

    @property
    def num_blocks(self) -> int:
        return len(self.hashed) + self.num_plain


class KVBlockPool:
    def __init__(self, num_blocks: int, block_size: int, enable_prefix_caching: bool) -> None:
        self.num_blocks = num_blocks
        self.block_size = block_size
        self.enable_prefix_caching = enable_prefix_caching
        self._num_plain_free = num_blocks
        # hash → block for every cached block (in use or evictable)
        self._cached: dict[int, CachedBlock] = {}
        # cached blocks nobody holds, least recently used first
        self._evictable: OrderedDict[int, CachedBlock] = OrderedDict()
        self.queries_tokens = 0
        self.hits_tokens = 0

    @property
    def num_free(self) -> int:
        return self._num_plain_free + len(self._evictable)

    @property
    def usage(self) -> float:
        """Fraction of blocks in use (vLLM's kv_cache_usage_perc, a fraction despite the name)."""
        return 1.0 - self.num_free / self.num_blocks

    def blocks_needed(self, num_tokens: int) -> int:
        return -(-num_tokens // self.block_size)

    def match_prefix(self, table: BlockTable, block_hashes: list[int], prompt_len: int) -> int:
        """Take the cached blocks that start the prompt; returns the number of cached tokens.
        At least the prompt's last token is left to compute (as in vLLM). Not counted in the
        hit statistics until `record_query` (an admission may still fail and retry)."""
        if not self.enable_prefix_caching:
            return 0
        max_blocks = (prompt_len - 1) // self.block_size
        hits = 0
        for block_hash in block_hashes[:max_blocks]:
            block = self._cached.get(block_hash)
            if block is None:
                break
            if block.ref_cnt == 0:
                del self._evictable[block_hash]
            block.ref_cnt += 1
            table.hashed.append(block)
            hits += 1
        return hits * self.block_size

    def record_query(self, prompt_len: int, cached_tokens: int) -> None:
        """Count one prefix-cache lookup (once per admitted request, in tokens as vLLM does)."""
        if self.enable_prefix_caching:
            self.queries_tokens += prompt_len
            self.hits_tokens += cached_tokens

    def allocate(self, table: BlockTable, total_tokens: int) -> bool:
        """Grow the table to cover `total_tokens`; False (nothing taken) if the pool is short."""
        need = self.blocks_needed(total_tokens) - table.num_blocks
        if need <= 0:
            return True
        if need > self.num_free:
            return False
        from_plain = min(need, self._num_plain_free)
        self._num_plain_free -= from_plain
        for _ in range(need - from_plain):
            block_hash, _block = self._evictable.popitem(last=False)
            del self._cached[block_hash]
        table.num_plain += need
        return True

    def register_full_blocks(self, table: BlockTable, block_hashes: list[int], upto: int) -> None:
        """Make the first `upto` prompt blocks shareable once computed (a plain block of the
        table becomes hashed unless another request cached the same content first)."""
        if not self.enable_prefix_caching:
            return
        for index in range(len(table.hashed), min(upto, len(block_hashes))):
            block_hash = block_hashes[index]
            if block_hash in self._cached or table.num_plain == 0:
                return
            block = CachedBlock(block_hash, ref_cnt=1)
            self._cached[block_hash] = block
            table.hashed.append(block)
            table.num_plain -= 1

    def free(self, table: BlockTable) -> None:
        """Return every block of the table; hashed ones stay cached (most recently used last)."""
        for block in reversed(table.hashed):
            block.ref_cnt -= 1
            if block.ref_cnt == 0:
                if block.block_hash in self._cached:
                    self._evictable[block.block_hash] = block
                else:  # dropped by reset_prefix_cache while in use
                    self._num_plain_free += 1
        self._num_plain_free += table.num_plain
        table.hashed.clear()
        table.num_plain = 0

    def reset_prefix_cache(self) -> None:
        """Forget every cached hash: evictable blocks become plain free blocks; blocks in use
        stay with their requests and return as plain blocks when freed."""
        self._num_plain_free += len(self._evictable)
        self._evictable.clear()
        self._cached.clear()


# the token key of a reasoning token: a client does not send reasoning back in the history, so
# its blocks must not match the answer's
REASONING_KEY = -1


def block_hashes(token_keys: list[int], block_size: int, prev: int = 0) -> list[int]:
    """Chained hashes of the full blocks of a token sequence (a block's hash covers its prefix);
    `prev` continues a chain (the hash of the block before the sequence)."""
    hashes: list[int] = []
    for start in range(0, len(token_keys) - block_size + 1, block_size):
        prev = hash((prev, tuple(token_keys[start : start + block_size])))
        hashes.append(prev)
    return hashes


def decode_hashes(
    prompt_hashes: list[int],
    tail_keys: list[int],
    output_keys: list[int],
    num_reasoning: int,
    num_output: int,
    block_size: int,
) -> list[int]:
    """Hashes of the full blocks after the prompt's: its tail and the generated tokens that are
    in the KV cache (all but the last), as vLLM caches decoded blocks. A multi-turn client's
    next prompt (history + answer + new message) then hits them block by block."""
    in_cache = max(num_output - 1, 0)
    reasoning = min(num_reasoning, in_cache)
    keys = tail_keys + [REASONING_KEY] * reasoning + output_keys * (in_cache - reasoning)
    return block_hashes(keys, block_size, prompt_hashes[-1] if prompt_hashes else 0)
