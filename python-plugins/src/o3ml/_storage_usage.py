"""``StorageUsage``: what ``O3Client.storage_usage`` (and ``o3ml du``) reports about stored bytes."""

from __future__ import annotations

from dataclasses import dataclass

from .gen import admin_service_pb2


@dataclass(frozen=True)
class KeyCounts:
    """How many keys of the bucket, and the sum of their sizes in bytes."""

    count: int
    bytes: int

    @classmethod
    def from_proto(cls, c: admin_service_pb2.GcCounts) -> KeyCounts:
        return cls(count=c.count, bytes=c.bytes)


@dataclass(frozen=True)
class StorageUsage:
    """Storage accounting of the whole bucket, one run or one dataset (docs/architecture.md).

    ``logical_bytes`` is the sum of the sizes users see (objects, checkpoints, dataset versions;
    ``items`` of them). ``stored_bytes`` is what the selection reaches in the bucket, each key counted
    once: ``blobs`` + ``manifests`` + ``refs``. ``shared`` are the blobs the selection reaches that
    something outside it reaches too, stored once through dedup (for the whole bucket: blobs two or
    more items name). ``reclaimable_*`` is what ``o3ml gc --grace 0`` would delete now (for a
    selection: what its deleted items left). ``versioned`` is False on a store that keeps no older
    versions; else ``noncurrent_versions`` and ``delete_markers`` count what it keeps of the
    selection's keys. ``log``, ``other`` and ``total_bytes`` (every current key under ``o3ml/v1/``)
    are set for the whole bucket only.
    """

    selection: str
    items: int
    logical_bytes: int
    stored_bytes: int
    blobs: KeyCounts
    manifests: KeyCounts
    refs: KeyCounts
    shared: KeyCounts
    reclaimable_bytes: int
    reclaimable_blobs: KeyCounts
    reclaimable_manifests: KeyCounts
    reclaimable_refs: KeyCounts
    versioned: bool
    noncurrent_versions: KeyCounts
    delete_markers: int
    log: KeyCounts
    other: KeyCounts
    total_bytes: int

    @classmethod
    def from_proto(cls, r: admin_service_pb2.StorageUsageReport) -> StorageUsage:
        k = KeyCounts.from_proto
        return cls(
            selection=r.selection,
            items=r.items,
            logical_bytes=r.logical_bytes,
            stored_bytes=r.stored_bytes,
            blobs=k(r.blobs),
            manifests=k(r.manifests),
            refs=k(r.refs),
            shared=k(r.shared),
            reclaimable_bytes=r.reclaimable_bytes,
            reclaimable_blobs=k(r.reclaimable_blobs),
            reclaimable_manifests=k(r.reclaimable_manifests),
            reclaimable_refs=k(r.reclaimable_refs),
            versioned=r.versioned,
            noncurrent_versions=k(r.noncurrent_versions),
            delete_markers=r.delete_markers,
            log=k(r.log),
            other=k(r.other),
            total_bytes=r.total_bytes,
        )
