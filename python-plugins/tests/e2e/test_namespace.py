"""Stat, list and delete: what the namespace shows after each operation."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
from conftest import service_of_its_own

from o3ml import NotFoundError, O3Client, ObjectInfo


# A thousand puts, each commit checked by a LIST: on a bucket of its own (conftest.service_of_its_own says why).
service = service_of_its_own("o3ml-serve-namespace")


def keys_of(infos) -> list[str]:  # type: ignore[no-untyped-def]
    return [info.key for info in infos]


def test_stat_describes_what_was_put(client: O3Client, prefix: str) -> None:
    key = f"{prefix}described.json"
    data = b'{"hello": "world"}'
    put = client.put(key, data, content_type="application/json", labels={"split": "train", "epoch": "3"})
    info = client.stat(key)
    assert isinstance(info, ObjectInfo)
    assert info == put
    assert (info.key, info.size, info.sha256) == (key, len(data), hashlib.sha256(data).hexdigest())
    assert info.content_type == "application/json"
    assert dict(info.labels) == {"split": "train", "epoch": "3"}
    assert info.cid
    assert info.created.tzinfo is not None and info.created.utcoffset() == timedelta(0)
    assert abs(datetime.now(timezone.utc) - info.created) < timedelta(minutes=5)


def test_list_filters_by_prefix(client: O3Client, prefix: str) -> None:
    for key in ["a/1", "a/2", "ab/1", "b/1", "a1"]:
        client.put(f"{prefix}{key}", key.encode())
    assert sorted(keys_of(client.list(f"{prefix}a/"))) == [f"{prefix}a/1", f"{prefix}a/2"]
    assert sorted(keys_of(client.list(f"{prefix}a"))) == [f"{prefix}{k}" for k in ["a/1", "a/2", "a1", "ab/1"]]
    assert sorted(keys_of(client.list(prefix))) == sorted(f"{prefix}{k}" for k in ["a/1", "a/2", "ab/1", "b/1", "a1"])
    assert list(client.list(f"{prefix}nothing-here/")) == []
    listed = {info.key: info for info in client.list(prefix)}
    assert listed[f"{prefix}a/1"] == client.stat(f"{prefix}a/1")


def test_list_pages_through_more_objects_than_a_page(client: O3Client, prefix: str) -> None:
    keys = [f"{prefix}item-{i:03d}" for i in range(11)]
    for key in keys:
        client.put(key, key.encode())
    for page_size in (1, 3, 10):
        listed = keys_of(client.list(prefix, page_size=page_size))
        assert sorted(listed) == keys and len(listed) == len(set(listed)), f"page_size={page_size}"


@pytest.mark.slow
def test_list_pages_past_the_default_page_size(client: O3Client, prefix: str) -> None:
    keys = [f"{prefix}many/{i:04d}" for i in range(1005)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda k: client.put(k, b""), keys))
    listed = keys_of(client.list(f"{prefix}many/"))
    assert sorted(listed) == keys and len(listed) == len(set(listed))


def test_delete_removes_the_key_from_every_view(client: O3Client, prefix: str) -> None:
    key, other = f"{prefix}doomed", f"{prefix}kept"
    client.put(key, b"bye")
    client.put(other, b"stay")
    assert client.delete(key) is True
    for read in (client.stat, client.get, client.open):
        with pytest.raises(NotFoundError) as caught:
            read(key)
        assert isinstance(caught.value, FileNotFoundError)
        assert key in str(caught.value)
    assert keys_of(client.list(prefix)) == [other]
    assert client.delete(key) is False
    assert client.delete(f"{prefix}never-existed") is False
    client.put(key, b"back again")
    assert client.get(key) == b"back again"
    assert sorted(keys_of(client.list(prefix))) == [key, other]


def test_a_put_to_an_existing_key_makes_the_new_bytes_current(client: O3Client, prefix: str) -> None:
    key = f"{prefix}versioned"
    first = client.put(key, b"one")
    second = client.put(key, b"two, longer")
    assert client.get(key) == b"two, longer"
    assert client.stat(key) == second and second.cid != first.cid
    assert keys_of(client.list(prefix)) == [key]


def test_a_missing_key_is_not_found(client: O3Client, prefix: str) -> None:
    for read in (client.stat, client.get, client.open):
        with pytest.raises(NotFoundError):
            read(f"{prefix}missing")
