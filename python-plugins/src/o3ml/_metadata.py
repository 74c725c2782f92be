"""Runs and lineage through the service's MetadataService.

A run is registered once, when training starts: its name, hyperparameters, and (captured
automatically) the code commit, uncommitted changes, package versions and host. The returned run
id is what checkpoints name as their run (``O3CheckpointIO(run=run_id)``), which ties every
checkpoint to how it was produced; ``lineage`` then answers, for any checkpoint, run or dataset
version, what produced it and what came of it.

``MetadataMethods`` is mixed into ``O3Client``; its calls go through the client's ``Connection``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Literal, TypeVar, overload

import grpc

from ._connection import Connection
from ._errors import from_rpc_error
from ._run_capture import RunEnvironment, capture_environment, to_json_value
from .gen import metadata_service_pb2 as pb
from .gen import metadata_service_pb2_grpc

LineageFormat = Literal["text", "mermaid", "dot", "json"]

log = logging.getLogger(__name__)

_T = TypeVar("_T")
_Stub = metadata_service_pb2_grpc.MetadataServiceStub


@dataclass(frozen=True)
class RunInfo:
    """One training run as the metadata index records it.

    ``code_commit`` and ``code_dirty`` (uncommitted changes in the working tree) are None when
    unknown; ``packages`` maps package names (and ``python``) to versions; ``created`` is UTC.
    """

    id: str
    name: str
    created: datetime
    hyperparameters: Mapping[str, Any] = field(default_factory=dict, hash=False)
    code_commit: str | None = None
    code_dirty: bool | None = None
    packages: Mapping[str, str] = field(default_factory=dict, hash=False)
    host: str | None = None

    @classmethod
    def from_proto(cls, info: pb.RunInfo) -> RunInfo:
        return cls(
            id=info.id,
            name=info.name,
            created=datetime.fromtimestamp(info.created_unix_ms / 1000, tz=timezone.utc),
            hyperparameters=json.loads(info.hyperparameters_json or "{}"),
            code_commit=info.code_commit or None,
            code_dirty=info.code_dirty if info.has_code_dirty else None,
            packages=dict(info.packages),
            host=info.host or None,
        )


def _report_continued(info: pb.RunInfo, sent_json: str, sent_any: bool) -> None:
    recorded = json.loads(info.hyperparameters_json or "{}")
    if sent_any and json.loads(sent_json) != recorded:
        log.warning(
            "run %r is registered already (id %s) with other hyperparameters (%s); continuing it with those. "
            "Register another name for a new run",
            info.name, info.id, info.hyperparameters_json,
        )
    else:
        log.info("run %r is registered already (id %s): continuing it", info.name, info.id)


class MetadataMethods:
    """Run registration and lineage queries, as methods of ``O3Client``."""

    connection: Connection

    def register_run(
        self, name: str, hyperparameters: Mapping[str, Any] | None = None, *, capture: bool = True, new: bool = False
    ) -> str:
        """Records a training run and returns its id.

        A name registered before is not registered again: its run is returned and continued, so a
        new process (a resumed job) keeps the run's identity and every checkpoint stays found by
        name. The first registration's hyperparameters and environment stand; different ones are
        reported at WARNING. With ``new=True`` an existing name raises ``AlreadyExistsError``.

        ``hyperparameters`` is stored as JSON (values JSON cannot hold are recorded as the nearest
        JSON value or their ``str``). With ``capture`` (the default) the run also records the git
        commit of the current working directory and whether it had uncommitted changes to tracked
        files, the versions of torch, lightning, numpy, o3ml and Python, and the host name;
        whatever cannot be found is recorded as unknown.
        """
        if not isinstance(name, str):
            raise TypeError(f"a run name is a str, not {type(name).__name__}")
        if hyperparameters is not None and not isinstance(hyperparameters, Mapping):
            raise TypeError(
                f"hyperparameters are a mapping of name to value, not {type(hyperparameters).__name__}"
            )
        env = capture_environment() if capture else RunEnvironment()
        request = pb.RegisterRunRequest(
            name=name,
            hyperparameters_json=json.dumps(to_json_value(dict(hyperparameters or {})), allow_nan=False),
            code_commit=env.code_commit or "",
            code_dirty=bool(env.code_dirty),
            has_code_dirty=env.code_dirty is not None,
            packages=dict(env.packages),
            host=env.host or "",
            must_be_new=new,
        )
        info: pb.RunInfo = self._metadata_call(lambda stub: stub.RegisterRun, request)
        if info.existing:
            _report_continued(info, request.hyperparameters_json, hyperparameters is not None)
        return info.id

    def runs(self) -> list[RunInfo]:
        """Every registered run, oldest first."""
        response: pb.ListRunsResponse = self._metadata_call(lambda stub: stub.ListRuns, pb.ListRunsRequest())
        return [RunInfo.from_proto(r) for r in response.runs]

    def run(self, id_or_name: str) -> RunInfo:
        """A run by id, or else the newest run with that name; ``NotFoundError`` when neither exists."""
        return RunInfo.from_proto(self._metadata_call(lambda stub: stub.GetRun, pb.GetRunRequest(run=id_or_name)))

    def delete_run(self, id_or_name: str, *, force: bool = False) -> list[str]:
        """Deletes a run (by id, or the newest run with that name) and every checkpoint of it; returns
        the ids of the checkpoints deleted. ``o3ml gc`` then reclaims the blobs nothing kept names.
        Raises ``FailedPreconditionError`` naming the kept checkpoints of other runs resumed from
        this run's, unless ``force``; ``NotFoundError`` when there is no such run.
        """
        request = pb.DeleteRunRequest(run=id_or_name, force=force)
        response: pb.DeleteRunResponse = self._metadata_call(lambda stub: stub.DeleteRun, request)
        return list(response.checkpoint_ids)

    @overload
    def lineage(self, id: str, format: Literal["json"] = "json", *, depth: int | None = None) -> dict[str, Any]: ...

    @overload
    def lineage(self, id: str, format: Literal["text", "mermaid", "dot"], *, depth: int | None = None) -> str: ...

    def lineage(self, id: str, format: LineageFormat = "json", *, depth: int | None = None) -> dict[str, Any] | str:
        """The lineage around ``id``: a run (id or name), checkpoint, artifact, manifest CID or
        ``dataset@version``. ``"json"`` gives ``{"focus", "nodes", "edges"}`` as a dict (edges
        point from what was used to what was made); the other formats give the rendered text.
        ``depth`` limits how many edges are followed each way.
        """
        request = pb.LineageRequest(id=id, format=format, depth=depth or 0)
        response: pb.LineageResponse = self._metadata_call(lambda stub: stub.Lineage, request)
        return json.loads(response.rendered) if format == "json" else response.rendered

    def record_artifact(
        self, run: str, name: str, cid: str, size: int, *, media_type: str = "", checkpoint: str = ""
    ) -> str:
        """Records an artifact ``run`` produced (an exported model, a report), optionally derived
        from ``checkpoint``; ``cid`` names its bytes (e.g. the ``cid`` of the object holding it).
        Returns the artifact's id."""
        request = pb.RecordArtifactRequest(
            run=run, name=name, cid=cid, bytes=size, media_type=media_type, checkpoint_id=checkpoint
        )
        info: pb.ArtifactInfo = self._metadata_call(lambda stub: stub.RecordArtifact, request)
        return info.id

    def _metadata_call(self, method: Callable[[_Stub], Callable[..., _T]], request: object) -> _T:
        conn = self.connection
        try:
            return method(conn.stub(_Stub))(request, metadata=conn.metadata, timeout=conn.timeout)
        except grpc.RpcError as err:
            raise from_rpc_error(err, conn.address) from None
