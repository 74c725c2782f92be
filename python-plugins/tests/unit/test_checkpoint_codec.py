"""The checkpoint codec on its own: torch.save's scheme, zero-copy entries, exact round trips."""

from __future__ import annotations

import io
import pickle
import socket
import zipfile
from collections import OrderedDict
from typing import Any

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from o3ml import FailedPreconditionError, IntegrityError, InvalidArgumentError
from o3ml._checkpoint_codec import SKELETON, SKELETON_NAME, STORAGE, Entry, decode, encode, new_storage

DTYPES = [
    torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int8, torch.uint8, torch.int16,
    torch.int32, torch.int64, torch.bool, torch.complex64, torch.complex128,
]


def received(entries: list[Entry]) -> dict[str, torch.UntypedStorage]:
    """The storages as a load builds them: fresh memory filled from the entries' bytes."""
    storages = {}
    for entry in entries[1:]:
        storage, view = new_storage(entry.nbytes)
        view[:] = entry.data
        storages[entry.name] = storage
    return storages


def round_trip(checkpoint: Any, **options: Any) -> Any:
    entries = encode(checkpoint)
    return decode(entries[0].data, received(entries), weights_only=False, **options)


def sample(dtype: torch.dtype, shape: tuple[int, ...], seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    if dtype == torch.bool:
        return torch.randint(0, 2, shape, generator=generator).bool()
    if dtype.is_complex or dtype.is_floating_point:
        return torch.randn(shape, generator=generator).to(dtype)
    return torch.randint(-100 if dtype != torch.uint8 else 0, 100, shape, generator=generator).to(dtype)


def assert_same(loaded: torch.Tensor, original: torch.Tensor) -> None:
    assert loaded.dtype == original.dtype and loaded.shape == original.shape
    assert loaded.stride() == original.stride() and loaded.storage_offset() == original.storage_offset()
    assert torch.equal(loaded, original)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_every_dtype_round_trips_as_scalar_empty_and_non_contiguous(dtype: torch.dtype) -> None:
    base = sample(dtype, (5, 7))
    checkpoint = {
        "full": base,
        "scalar": sample(dtype, ()),
        "empty": sample(dtype, (0, 3)),
        "transposed": base.t(),
        "strided": base[1:, ::2],
    }
    out = round_trip(checkpoint)
    for name, tensor in checkpoint.items():
        assert_same(out[name], tensor)


def test_shared_storages_stay_shared_and_are_stored_once() -> None:
    weight = torch.randn(8, 8)
    checkpoint = {"weight": weight, "row": weight[3], "alias": weight, "view": weight.view(64)[10:20]}
    entries = encode(checkpoint)
    assert [e.kind for e in entries] == [SKELETON, STORAGE]
    out = decode(entries[0].data, received(entries), weights_only=False)
    assert out["weight"] is out["alias"]
    pointers = {out[name].untyped_storage().data_ptr() for name in ("weight", "row", "view")}
    assert len(pointers) == 1
    out["weight"][3, 0] = 42.0
    assert out["row"][0] == 42.0


def test_the_skeleton_is_byte_for_byte_what_torch_save_writes() -> None:
    checkpoint = {"a": torch.randn(3, 4), "b": [torch.arange(5)[1:], {"lr": 0.1}], "c": torch.randn(2, dtype=torch.bfloat16)}
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    archive = zipfile.ZipFile(buffer)
    pickled = next(n for n in archive.namelist() if n.endswith("/data.pkl"))
    entries = encode(checkpoint)
    assert entries[0].name == SKELETON_NAME
    assert bytes(entries[0].data) == archive.read(pickled)
    storages = {n.rsplit("/", 1)[1]: archive.read(n) for n in archive.namelist() if "/data/" in n}
    assert {e.name: bytes(e.data) for e in entries[1:]} == storages
    assert [e.dtype for e in entries[1:]] == ["float32", "int64", "bfloat16"]


def test_cpu_storages_are_not_copied_unless_a_snapshot_is_asked_for() -> None:
    weight = torch.zeros(1024)
    shared = encode({"w": weight})[1]
    snapshot = encode({"w": weight}, snapshot=True)[1]
    weight += 1.0  # training goes on in place
    assert torch.frombuffer(bytearray(shared.data), dtype=torch.float32)[0] == 1.0
    assert torch.frombuffer(bytearray(snapshot.data), dtype=torch.float32)[0] == 0.0
    assert shared.data.readonly and snapshot.data.readonly


def test_loaded_storages_use_the_memory_they_were_received_into() -> None:
    entries = encode({"w": torch.arange(16, dtype=torch.float32)})
    storages = received(entries)
    out = decode(entries[0].data, storages, weights_only=False)
    assert out["w"].untyped_storage().data_ptr() == storages["0"].data_ptr()


@pytest.mark.parametrize(
    "map_location",
    ["cpu", torch.device("cpu"), {"cpu": "cpu"}, lambda storage, location: storage, None],
    ids=["str", "device", "dict", "callable", "none"],
)
def test_map_location_is_honoured_like_torch_load(map_location: Any) -> None:
    checkpoint = {"w": torch.randn(4, 4), "b": torch.randn(4)}
    out = round_trip(checkpoint, map_location=map_location)
    assert all(torch.equal(out[k], checkpoint[k]) for k in checkpoint)


def test_map_location_callable_sees_each_storage_and_its_saved_location() -> None:
    seen: list[str] = []

    def place(storage: Any, location: str) -> Any:
        seen.append(location)
        return storage

    round_trip({"a": torch.randn(3), "b": torch.randn(3), "a_again": torch.randn(3)}, map_location=place)
    assert seen == ["cpu", "cpu", "cpu"]


def test_map_location_to_meta_builds_no_data() -> None:
    out = round_trip({"w": torch.randn(4, 4)}, map_location="meta")
    assert out["w"].is_meta and out["w"].shape == (4, 4)


def test_an_unplaceable_location_asks_for_map_location() -> None:
    entries = encode({"w": torch.randn(4)})
    skeleton = bytes(entries[0].data).replace(b"cpu", b"xpu", 1)
    with pytest.raises(FailedPreconditionError, match="map_location"):
        decode(skeleton, received(entries), weights_only=False)


class Holder:
    def __init__(self, payload: Any) -> None:
        self.payload = payload


@pytest.mark.parametrize(
    ("checkpoint", "path"),
    [
        ({"hyper_parameters": {"fn": lambda x: x}}, "checkpoint['hyper_parameters']['fn']"),
        ({"callbacks": [1, {"deep": [0, lambda: 0]}]}, "checkpoint['callbacks'][1]['deep'][1]"),
        ({"obj": Holder(lambda: 1)}, "checkpoint['obj'].payload"),
    ],
    ids=["lambda", "nested-lambda", "attribute"],
)
def test_an_unpicklable_object_is_named_by_its_key_path(checkpoint: dict[str, Any], path: str) -> None:
    checkpoint["state_dict"] = {"w": torch.randn(3)}
    with pytest.raises(InvalidArgumentError) as caught:
        encode(checkpoint)
    assert path in str(caught.value) and caught.value.details["path"] == path


def test_an_open_socket_is_named_by_its_key_path() -> None:
    with socket.socket() as sock:
        with pytest.raises(InvalidArgumentError, match=r"checkpoint\['loops'\]\['sock'\] is a socket.socket"):
            encode({"loops": {"sock": sock}, "w": torch.zeros(2)})


def test_one_storage_read_as_two_dtypes_is_refused_like_torch_save() -> None:
    raw = torch.zeros(8, dtype=torch.float32)
    with pytest.raises(InvalidArgumentError, match="clone one of them"):
        encode({"f": raw, "i": raw.view(torch.int32)})


def test_weights_only_loads_plain_checkpoints_and_refuses_arbitrary_objects() -> None:
    plain: dict[str, Any] = {"state_dict": OrderedDict(w=torch.randn(3)), "epoch": 3, "name": "x", "lrs": [0.1, 0.01]}
    entries = encode(plain)
    out = decode(entries[0].data, received(entries))  # weights_only defaults to True, as in torch.load
    assert torch.equal(out["state_dict"]["w"], plain["state_dict"]["w"]) and out["lrs"] == plain["lrs"]
    entries = encode({"obj": Holder(1)})
    with pytest.raises(InvalidArgumentError, match="weights_only=False"):
        decode(entries[0].data, received(entries))
    assert decode(entries[0].data, received(entries), weights_only=False)["obj"].payload == 1


def test_a_missing_or_short_storage_is_an_integrity_error() -> None:
    entries = encode({"w": torch.randn(4)})
    with pytest.raises(IntegrityError, match="does not contain"):
        decode(entries[0].data, {}, weights_only=False)
    with pytest.raises(IntegrityError, match="has 8 bytes"):
        decode(entries[0].data, {"0": torch.zeros(2).untyped_storage()}, weights_only=False)


def test_a_truncated_skeleton_is_an_integrity_error() -> None:
    entries = encode({"w": torch.randn(4), "note": "x" * 100})
    with pytest.raises(IntegrityError, match="does not unpickle"):
        decode(bytes(entries[0].data)[:-20], received(entries), weights_only=False)


def test_plain_python_values_round_trip() -> None:
    checkpoint = {"epoch": 3, "lr": 1e-3, "name": "run", "none": None, "nested": {"t": (1, 2), "s": {1, 2}}, "b": b"\x00\xff"}
    assert round_trip(checkpoint) == checkpoint
    assert pickle.loads(pickle.dumps(checkpoint)) == checkpoint


@st.composite
def strided_views(draw: st.DrawFn) -> tuple[torch.Tensor, torch.Tensor]:
    """A base tensor and a view of it with arbitrary shape, strides and offset inside it."""
    dtype = draw(st.sampled_from(DTYPES))
    numel = draw(st.integers(0, 300))
    base = sample(dtype, (numel,), seed=draw(st.integers(0, 2**16)))
    ndim = draw(st.integers(0, 3))
    shape = tuple(draw(st.integers(0, 5)) for _ in range(ndim))
    strides = tuple(draw(st.integers(0, 12)) for _ in range(ndim))
    span = 1 + sum((size - 1) * stride for size, stride in zip(shape, strides, strict=True)) if all(shape) else 0
    if span > numel:
        return base, base
    offset = draw(st.integers(0, numel - span)) if numel else 0
    return base, base.as_strided(shape, strides, offset)


@settings(max_examples=200, deadline=None)
@given(strided_views(), st.booleans())
def test_views_keep_shape_strides_offset_and_sharing(case: tuple[torch.Tensor, torch.Tensor], include_base: bool) -> None:
    base, view = case
    checkpoint = {"view": view, "base": base} if include_base else {"view": view}
    out = round_trip(checkpoint)
    assert_same(out["view"], view)
    if include_base:
        assert_same(out["base"], base)
        assert out["view"].untyped_storage().data_ptr() == out["base"].untyped_storage().data_ptr() or base.numel() == 0
