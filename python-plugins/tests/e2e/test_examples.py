"""The examples run as their READMEs say: `bash examples/digits/run.sh` and
`bash examples/finetune/run.sh`, each starting its own service in front of the embedded stand-in
(finetune first runs digits itself when the service has no digits run, as here).

Short runs (one epoch) keep this to a couple of minutes; the assertions are on what each prints:
the dataset pushed, the accuracy, and for the fine-tuning the bytes the frozen backbone saved.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from servers import REPO_ROOT


def run_example(script: str, *args: str, tmp: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("O3ML_", "AWS_"))}
    env.update(TMPDIR=str(tmp), O3ML_HOME=str(tmp / "home"))
    done = subprocess.run(
        ["bash", str(REPO_ROOT / "examples" / script / "run.sh"), *args],
        env=env, capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, f"{script}/run.sh failed ({done.returncode}):\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return done.stdout


def test_digits_example_pushes_the_images_and_trains_from_o3(tmp_path: Path) -> None:
    out = run_example("digits", "--epochs", "1", "--run", "digits-example", tmp=tmp_path)
    accuracy = float(re.search(r"test accuracy (\d\.\d+)", out).group(1))  # type: ignore[union-attr]
    # One epoch of a small CNN on 1439 images: far above chance (0.1), short of the 3-epoch 0.94.
    assert accuracy > 0.3, out
    assert "digits-example" in out and ".ckpt" in out


def test_finetune_example_trains_a_new_head_and_stores_the_frozen_backbone_once(tmp_path: Path) -> None:
    out = run_example("finetune", "--epochs", "1", tmp=tmp_path)
    assert "no digits-cnn run on this service yet" in out  # it ran examples/digits first
    share = float(re.search(r"\((\d+\.\d)% not uploaded: the frozen backbone is stored once\)", out).group(1))  # type: ignore[union-attr]
    assert share > 50.0, out
    assert re.search(r"test accuracy on parity: \d\.\d+", out), out
