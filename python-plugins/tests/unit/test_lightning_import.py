"""o3ml.lightning is an optional extra: without Lightning it says how to install it."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def run_without(module: str) -> subprocess.CompletedProcess[str]:
    # A fresh interpreter whose import of `module` fails as if it were not installed.
    code = textwrap.dedent(
        f"""
        import sys
        sys.modules[{module!r}] = None
        try:
            import o3ml.lightning
        except ImportError as err:
            print(err)
        else:
            print("imported")
        """
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)


def test_missing_lightning_asks_for_the_extra() -> None:
    out = run_without("lightning.pytorch").stdout
    assert "pip install o3ml[lightning]" in out and "lightning.pytorch" in out


def test_missing_torch_asks_for_the_extra() -> None:
    assert "pip install o3ml[lightning]" in run_without("torch").stdout


def test_the_public_names_import_when_lightning_is_installed() -> None:
    import o3ml.lightning as ol

    assert {"O3CheckpointIO", "O3ResumeCallback", "resolve_ckpt_path"} <= set(ol.__all__)
    assert all(hasattr(ol, name) for name in ol.__all__)
