"""Dataset folders made on the fly and pushed with the real CLI (`o3ml dataset push --json`)."""

from __future__ import annotations

import json
import os
import random
import subprocess
from pathlib import Path
from typing import Any

from servers import REPO_ROOT, Service

CLI = REPO_ROOT / "packages" / "o3ml" / "bin" / "o3ml.js"


def image_folder(root: Path, splits: dict[str, int], size: int = 6000, classes: int = 3, seed: int = 0) -> dict[str, dict[str, object]]:
    """`<split>/c<k>/<i>.bin` files of random bytes; returns the samples push will make, by key."""
    rng = random.Random(seed)
    expected: dict[str, dict[str, object]] = {}
    for split, count in splits.items():
        for i in range(count):
            label = i % classes
            folder = root / split / f"c{label}"
            folder.mkdir(parents=True, exist_ok=True)
            data = rng.randbytes(size + rng.randrange(size // 4))
            (folder / f"{i:05d}.bin").write_bytes(data)
            expected[f"{split}/c{label}/{i:05d}"] = {"bin": data, "cls": label}
    return expected


def push(
    service: Service, folder: Path, name: str, shard_size: str = "64KiB", extra: tuple[str, ...] = (), env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Pushes `folder` as a new version of `name`; returns the CLI's JSON summary. `env` adds to the
    CLI's environment (a token, TLS files)."""
    inherited = {k: v for k, v in os.environ.items() if k != "O3ML_TOKEN"}
    done = subprocess.run(
        ["node", str(CLI), "dataset", "push", str(folder), "--name", name, "--shard-size", shard_size, "--json", *extra],
        env={**inherited, "O3ML_SERVICE": service.address, **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        raise AssertionError(f"o3ml dataset push failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return json.loads(done.stdout)  # type: ignore[no-any-return]
