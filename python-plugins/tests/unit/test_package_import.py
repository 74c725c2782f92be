"""`import o3ml` needs no PyTorch: the names that do (datasets, distributed-checkpoint storage)
load on first use, and without PyTorch they say what to install."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

LAZY = ["O3ShardDataset", "O3DataLoader", "O3StorageWriter", "O3StorageReader"]


def run(code: str) -> str:
    # A fresh interpreter: this one has imported torch already.
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_import_o3ml_loads_no_torch_until_a_name_that_needs_it_is_used() -> None:
    out = run(
        f"""
        import json, sys
        import o3ml
        before = sorted(m for m in ("torch", "torch.distributed.checkpoint") if m in sys.modules)
        from o3ml import O3StorageReader, O3StorageWriter
        from o3ml._dcp import O3StorageReader as reader, O3StorageWriter as writer
        print(json.dumps({{
            "before": before,
            "same": O3StorageWriter is writer and O3StorageReader is reader,
            "exported": [n for n in {LAZY!r} if n in o3ml.__all__],
        }}))
        """
    )
    report = json.loads(out)
    assert report == {"before": [], "same": True, "exported": LAZY}


@pytest.mark.parametrize("name", LAZY)
def test_a_name_that_needs_torch_asks_for_the_extra_without_it(name: str) -> None:
    out = run(
        f"""
        import sys
        sys.modules["torch"] = None  # as if PyTorch were not installed
        import o3ml
        try:
            getattr(o3ml, {name!r})
        except ImportError as err:
            print(err)
        """
    )
    assert f"o3ml.{name} needs PyTorch" in out and "pip install o3ml[lightning]" in out


def test_an_unknown_name_is_an_attribute_error() -> None:
    import o3ml

    with pytest.raises(AttributeError, match="no attribute 'O3StorageWritter'"):
        o3ml.O3StorageWritter  # noqa: B018
