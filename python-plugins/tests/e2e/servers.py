"""Real servers on loopback for the end-to-end tests: moto or MinIO as S3, and `o3ml serve` in front.

Every process binds 127.0.0.1 only, keeps its output in files under the test's temporary folder
(so a failure can show it) and is stopped by the fixture that started it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[3]
REGION = "akave-network"
START_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Managed:
    """A child process whose stdout and stderr go to files in `logs`."""

    name: str
    process: subprocess.Popen[bytes]
    logs: Path

    @classmethod
    def start(cls, name: str, argv: list[str], env: dict[str, str], logs: Path, stdout_pipe: bool = False) -> Managed:
        logs.mkdir(parents=True, exist_ok=True)
        with open(logs / f"{name}.stderr", "wb") as stderr, open(logs / f"{name}.stdout", "wb") as stdout:
            process = subprocess.Popen(
                argv,
                env=env,
                stdout=subprocess.PIPE if stdout_pipe else stdout,
                stderr=stderr,
                stdin=subprocess.DEVNULL,
            )
        return cls(name, process, logs)

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def output(self, limit: int = 4000) -> str:
        parts = []
        for stream in ("stdout", "stderr"):
            path = self.logs / f"{self.name}.{stream}"
            if path.exists():
                text = path.read_bytes()[-limit:].decode("utf-8", "replace")
                parts.append(f"--- {self.name} {stream} (last {limit} bytes) ---\n{text}")
        return "\n".join(parts)

    def stop(self) -> None:
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        if self.process.stdout is not None:
            self.process.stdout.close()


def wait_http(url: str, what: Managed, timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not what.alive():
            raise RuntimeError(f"{what.name} exited with status {what.process.returncode} while starting\n{what.output()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status < 500:
                    return
        except urllib.error.HTTPError as err:
            if err.code < 500:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{what.name} did not answer {url} within {timeout:.0f} s\n{what.output()}")


@dataclass
class S3Endpoint:
    kind: str
    endpoint: str
    access_key: str
    secret_key: str
    process: Managed
    region: str = REGION

    def boto3(self) -> Any:  # boto3 has no type information: the client is Any
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}),
        )


def start_moto(logs: Path) -> S3Endpoint:
    command = os.environ.get("O3ML_MOTO_SERVER") or str(Path(sys.executable).parent / "moto_server")
    if not Path(command).exists():
        command = shutil.which("moto_server") or command
    port = free_port()
    env = {**os.environ, "MOTO_PORT": str(port)}
    process = Managed.start("moto", [command, "-H", "127.0.0.1", "-p", str(port)], env, logs)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{endpoint}/moto-api/", process)
    except BaseException:
        process.stop()
        raise
    return S3Endpoint("moto", endpoint, "o3ml-local", "o3ml-local-secret", process)


def minio_binary() -> tuple[str | None, str]:
    """The MinIO server binary, or None and the reason it cannot be had here."""
    if os.environ.get("O3ML_MINIO"):
        return os.environ["O3ML_MINIO"], ""
    try:
        done = subprocess.run(
            ["bash", str(REPO_ROOT / "scripts" / "minio.sh")], capture_output=True, text=True, timeout=1800
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        return None, f"scripts/minio.sh could not run: {err}"
    path = done.stdout.strip()
    if done.returncode != 0 or not path or not Path(path).exists():
        return None, f"scripts/minio.sh failed (status {done.returncode}): {done.stderr.strip()[-500:]}"
    return path, ""


def start_minio(binary: str, data: Path, logs: Path) -> S3Endpoint:
    port, console = free_port(), free_port()
    user, password = "o3mlminio", "o3mlminio-secret"
    env = {
        **os.environ,
        "MINIO_ROOT_USER": user,
        "MINIO_ROOT_PASSWORD": password,
        "MINIO_REGION": REGION,
        "MINIO_BROWSER": "off",
        "MINIO_UPDATE": "off",
    }
    argv = [binary, "server", str(data), "--address", f"127.0.0.1:{port}", "--console-address", f"127.0.0.1:{console}", "--quiet"]
    process = Managed.start("minio", argv, env, logs)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{endpoint}/minio/health/ready", process)
        # Ready can come before the object layer: S3 requests then get 503 XMinioServerNotInitialized.
        wait_http(f"{endpoint}/", process)
    except BaseException:
        process.stop()
        raise
    return S3Endpoint("minio", endpoint, user, password, process)


@dataclass
class Service:
    """A running `o3ml serve`."""

    address: str
    metrics_url: str
    bucket: str
    s3: S3Endpoint
    process: Managed
    ready: dict[str, Any] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.process.pid

    def metric(self, name: str) -> float:
        """The sum of every sample of the Prometheus metric `name`."""
        with urllib.request.urlopen(self.metrics_url, timeout=10) as response:
            text = response.read().decode()
        total, seen = 0.0, False
        for line in text.splitlines():
            if line.startswith(name) and line[len(name) : len(name) + 1] in (" ", "{"):
                total += float(line.rsplit(" ", 1)[1])
                seen = True
        if not seen:
            raise AssertionError(f"metric {name} is not in {self.metrics_url}:\n{text[:2000]}")
        return total

    def stop(self) -> None:
        self.process.stop()


def service_command() -> list[str]:
    node = shutil.which("node")
    cli = REPO_ROOT / "packages" / "o3ml" / "bin" / "o3ml.js"
    built = REPO_ROOT / "packages" / "o3ml" / "dist" / "main.js"
    if node is None:
        raise RuntimeError("node is not on PATH: the o3ml service needs Node 24 (run `npm run setup`, then `source scripts/node-env.sh`)")
    if not built.exists():
        raise RuntimeError(f"{built} is missing: build the TypeScript first (npx tsc -b tsconfig.build.json)")
    return [node, str(cli), "serve"]


def start_service(
    s3: S3Endpoint,
    home: Path,
    logs: Path,
    token: str | None = None,
    name: str = "o3ml-serve",
    *,
    extra_env: dict[str, str] | None = None,
    extra_args: list[str] | None = None,
    listen: str = "127.0.0.1:0",
) -> Service:
    """`o3ml serve` in front of `s3` with a fresh bucket; `extra_env` / `extra_args` add to its environment and flags,
    `listen` is its address (a free port unless given)."""
    bucket = f"o3ml-test-{uuid.uuid4().hex[:12]}"
    # The service must see exactly this configuration, not whatever the developer's shell exports.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("O3ML_", "AWS_"))}
    env.update(
        O3ML_ENDPOINT=s3.endpoint,
        O3ML_ACCESS_KEY_ID=s3.access_key,
        O3ML_SECRET_ACCESS_KEY=s3.secret_key,
        O3ML_REGION=s3.region,
        O3ML_BUCKET=bucket,
        O3ML_HOME=str(home),
    )
    if token is not None:
        env["O3ML_TOKEN"] = token
    # As docs/setup.md deploys the service: glibc keeps a malloc arena per thread that ever
    # allocated (the hash worker threads among them) and returns little of it.
    env.setdefault("MALLOC_ARENA_MAX", "2")
    env.update(extra_env or {})
    argv = [*service_command(), "--listen", listen, "--metrics", "127.0.0.1:0", "--json", "--create-bucket", *(extra_args or [])]
    process = Managed.start(name, argv, env, logs, stdout_pipe=True)
    try:
        ready = _await_listening(process)
    except BaseException:
        process.stop()
        raise
    return Service(
        address=ready["address"],
        metrics_url=f"http://127.0.0.1:{ready['metricsPort']}/metrics",
        bucket=bucket,
        s3=s3,
        process=process,
        ready=ready,
    )


def _await_listening(process: Managed) -> dict[str, Any]:
    """Reads stdout lines until the `listening` event; later lines keep being copied to a file."""
    assert process.process.stdout is not None
    found: dict[str, Any] = {}
    event = threading.Event()
    sink = open(process.logs / f"{process.name}.stdout", "wb")  # noqa: SIM115

    def pump() -> None:
        with sink:
            for line in process.process.stdout:  # type: ignore[union-attr]
                sink.write(line)
                sink.flush()
                if not event.is_set():
                    try:
                        message = json.loads(line)
                    except ValueError:
                        continue
                    if isinstance(message, dict) and message.get("event") == "listening":
                        found.update(message)
                        event.set()
            event.set()

    threading.Thread(target=pump, name=f"{process.name}-stdout", daemon=True).start()
    if not event.wait(START_TIMEOUT) or not found:
        try:
            process.process.wait(2)  # stdout closed: the process is most likely exiting
        except subprocess.TimeoutExpired:
            pass
        state = "is still starting" if process.alive() else f"exited with status {process.process.returncode}"
        raise RuntimeError(
            f"`o3ml serve` printed no listening event within {START_TIMEOUT:.0f} s and {state}\n{process.output()}"
        )
    return found


def rss_bytes(pid: int) -> int:
    """Resident memory of `pid` and all its descendants, from /proc."""
    total = 0
    for member in [pid, *_descendants(pid)]:
        try:
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


def _descendants(pid: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found, queue = [], [pid]
    while queue:
        children = parents.get(queue.pop(), [])
        found.extend(children)
        queue.extend(children)
    return found
