"""The KV-block pool: allocation, prefix reuse, LRU eviction, reset."""

from __future__ import annotations

from launchers.sim.kv_cache import BlockTable, KVBlockPool, block_hashes


def test_allocate_is_all_or_nothing() -> None:
    pool = KVBlockPool(4, 16, enable_prefix_caching=False)
    t = BlockTable()
    assert pool.allocate(t, 33)  # 3 blocks
    assert t.num_blocks == 3 and pool.num_free == 1
    assert not pool.allocate(BlockTable(), 17)  # needs 2, 1 left
    assert pool.num_free == 1
    assert pool.usage == 0.75
    pool.free(t)
    assert pool.num_free == 4 and t.num_blocks == 0


def test_cached_blocks_survive_free_and_are_evicted_lru_first() -> None:
    pool = KVBlockPool(4, 4, enable_prefix_caching=True)
    a_hashes = block_hashes(list(range(8)), 4)
    a = BlockTable()
    assert pool.match_prefix(a, a_hashes, 9) == 0
    pool.allocate(a, 9)
    pool.register_full_blocks(a, a_hashes, 2)
    pool.free(a)
    assert pool.num_free == 4  # evictable blocks count as free
    b = BlockTable()
    assert pool.match_prefix(b, a_hashes, 9) == 8
    assert pool.hits_tokens == 0, "counted only by record_query, once a request is admitted"
    pool.record_query(9, 8)
    assert pool.hits_tokens == 8 and pool.queries_tokens == 9
    pool.free(b)
    # a request wanting all 4 blocks evicts the cached ones
    c = BlockTable()
    assert pool.allocate(c, 16)
    assert pool.match_prefix(BlockTable(), a_hashes, 9) == 0


def test_the_last_prompt_token_is_always_computed() -> None:
    pool = KVBlockPool(8, 4, enable_prefix_caching=True)
    hashes = block_hashes(list(range(8)), 4)
    t = BlockTable()
    pool.allocate(t, 8)
    pool.register_full_blocks(t, hashes, 2)
    pool.free(t)
    # the prompt is exactly the two cached blocks: only the first may be reused
    assert pool.match_prefix(BlockTable(), hashes, 8) == 4


def test_reset_prefix_cache_forgets_hashes() -> None:
    pool = KVBlockPool(8, 4, enable_prefix_caching=True)
    hashes = block_hashes(list(range(12)), 4)
    t = BlockTable()
    pool.allocate(t, 12)
    pool.register_full_blocks(t, hashes, 3)
    pool.reset_prefix_cache()
    pool.free(t)
    assert pool.num_free == 8
    assert pool.match_prefix(BlockTable(), hashes, 13) == 0


def test_block_hashes_chain_over_the_prefix() -> None:
    a = block_hashes([1, 2, 3, 4, 5, 6, 7, 8], 4)
    b = block_hashes([9, 2, 3, 4, 5, 6, 7, 8], 4)
    assert len(a) == 2 and a[1] != b[1]  # same second block, different prefix
    assert block_hashes([1, 2, 3], 4) == []
