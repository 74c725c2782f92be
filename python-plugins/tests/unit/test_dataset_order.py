"""The epoch order as pure numbers: partitions, determinism, shuffling, resume arithmetic."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from o3ml._datasets._order import Layout, batches_of, resume_point, shard_order, stream_lengths, stream_sequence

counts_strategy = st.lists(st.integers(min_value=0, max_value=30), min_size=0, max_size=12)


@settings(max_examples=200, deadline=None)
@given(
    counts=counts_strategy,
    seed=st.one_of(st.none(), st.integers(0, 2**32)),
    epoch=st.integers(0, 5),
    buffer=st.integers(1, 50),
    world_size=st.integers(1, 4),
    streams=st.integers(1, 4),
)
def test_dataset_streams_of_all_ranks_and_workers_cover_every_sample_once(
    counts: list[int], seed: int | None, epoch: int, buffer: int, world_size: int, streams: int
) -> None:
    total = sum(counts)
    seen: list[int] = []
    for rank in range(world_size):
        layout = Layout(rank, world_size, streams)
        lengths = stream_lengths(total, layout)
        for stream in range(streams):
            sequence = stream_sequence(counts, seed, epoch, buffer, layout, stream)
            assert len(sequence) == lengths[stream]
            seen.extend(sequence)
    assert sorted(seen) == list(range(total))


@settings(max_examples=100, deadline=None)
@given(total=st.integers(0, 1000), world_size=st.integers(1, 8), streams=st.integers(1, 8))
def test_dataset_ranks_and_workers_get_shares_within_one_sample(total: int, world_size: int, streams: int) -> None:
    ranks = [sum(stream_lengths(total, Layout(r, world_size, 1))) for r in range(world_size)]
    assert max(ranks) - min(ranks) <= 1
    assert sum(ranks) == total
    for r in range(world_size):
        lengths = stream_lengths(total, Layout(r, world_size, streams))
        assert max(lengths) - min(lengths) <= 1


def test_dataset_order_depends_on_seed_and_epoch_only() -> None:
    counts = [10] * 20
    layout = Layout()
    first = stream_sequence(counts, 7, 0, 16, layout, 0)
    assert first == stream_sequence(counts, 7, 0, 16, layout, 0)
    assert first != stream_sequence(counts, 8, 0, 16, layout, 0)
    assert first != stream_sequence(counts, 7, 1, 16, layout, 0)
    assert sorted(first) == list(range(200))
    assert stream_sequence(counts, None, 3, 16, layout, 0) == list(range(200))


def test_dataset_shard_order_is_a_seeded_permutation() -> None:
    assert shard_order(5, None, 9) == [0, 1, 2, 3, 4]
    order = shard_order(50, 1, 0)
    assert sorted(order) == list(range(50)) and order != list(range(50))
    assert order == shard_order(50, 1, 0)


def test_dataset_buffer_shuffle_moves_samples_only_a_bounded_distance_ahead() -> None:
    # A sample can be emitted at most `buffer - 1` places before its position in the input,
    # which is what keeps only a few shards in use at a time.
    unshuffled = stream_sequence([100] * 10, 3, 0, 1, Layout(), 0)
    admitted = {sample: position for position, sample in enumerate(unshuffled)}
    sequence = stream_sequence([100] * 10, 3, 0, 25, Layout(), 0)
    assert sorted(sequence) == sorted(unshuffled) and sequence != unshuffled
    assert all(position >= admitted[sample] - 24 for position, sample in enumerate(sequence))


def test_dataset_buffer_starts_emitting_before_it_is_full() -> None:
    # The first samples come from the first few of the input (one shard), not from `size` samples.
    unshuffled = stream_sequence([100] * 30, 3, 0, 1, Layout(), 0)
    admitted = {sample: position for position, sample in enumerate(unshuffled)}
    sequence = stream_sequence([100] * 30, 3, 0, 1000, Layout(), 0)
    assert max(admitted[s] for s in sequence[:10]) < 120


def round_robin(batches: list[int], consumed: int) -> tuple[list[int], list[int]]:
    """What torch's multi-worker iterator does: workers in turn, skipping those that ran out."""
    delivered = [0] * len(batches)
    order: list[int] = []
    for worker in itertools.cycle(range(len(batches))):
        if len(order) == min(consumed, sum(batches)):
            break
        if delivered[worker] < batches[worker]:
            delivered[worker] += 1
            order.append(worker)
    return delivered, order


@settings(max_examples=300, deadline=None)
@given(batches=st.lists(st.integers(0, 12), min_size=1, max_size=6), data=st.data())
def test_dataset_resume_point_continues_the_round_robin_where_it_stopped(batches: list[int], data: st.DataObject) -> None:
    consumed = data.draw(st.integers(0, sum(batches) + 2))
    delivered, next_stream = resume_point(batches, consumed)
    expected, _ = round_robin(batches, consumed)
    assert delivered == expected
    # Resuming with worker j serving stream (next + j) % W reproduces the rest of the full order.
    _, full = round_robin(batches, sum(batches))
    rotation = [(next_stream + j) % len(batches) for j in range(len(batches))]
    remaining = [batches[s] - delivered[s] for s in rotation]
    _, resumed = round_robin(remaining, sum(remaining))
    assert [rotation[j] for j in resumed] == full[min(consumed, sum(batches)) :]


def test_dataset_batches_of_counts_a_partial_batch_unless_dropped() -> None:
    assert batches_of(10, 4, drop_last=False) == 3
    assert batches_of(10, 4, drop_last=True) == 2
    assert batches_of(0, 4, drop_last=False) == 0
