"""Writes scikit-learn's handwritten digits as an ImageFolder tree of PNG files.

``load_digits`` ships inside scikit-learn (1797 grey 8×8 images, ten classes), so nothing is
downloaded. The tree is ``<out>/<split>/<class>/<index>.png``; each image's split is fixed by
its index and ``--seed`` (a seeded permutation, stratified per class), so every export of the
same seed is byte-identical and pushes to the same dataset CID.

    .venv/bin/python examples/digits/export_images.py /tmp/digits --val 0.1 --test 0.1
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.datasets import load_digits

# load_digits stores intensities 0..16; PNG wants 0..255.
_SCALE = 255.0 / 16.0


def split_of_each(labels: np.ndarray, val: float, test: float, seed: int) -> list[str]:
    """The split of every image: a seeded shuffle within each class, cut by the ratios."""
    rng = np.random.default_rng(seed)
    splits = ["train"] * len(labels)
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        n_test, n_val = round(len(members) * test), round(len(members) * val)
        for i in members[:n_test]:
            splits[i] = "test"
        for i in members[n_test : n_test + n_val]:
            splits[i] = "val"
    return splits


def export(out: Path, val: float, test: float, seed: int) -> dict[str, int]:
    digits = load_digits()
    images = np.clip(np.rint(digits.images * _SCALE), 0, 255).astype(np.uint8)
    counts: dict[str, int] = {}
    for index, (image, label, split) in enumerate(zip(images, digits.target, split_of_each(digits.target, val, test, seed))):
        folder = out / split / str(int(label))
        folder.mkdir(parents=True, exist_ok=True)
        # optimize=False and no metadata: the same pixels always give the same bytes.
        Image.fromarray(image).save(folder / f"{index:04d}.png", format="PNG")
        counts[split] = counts.get(split, 0) + 1
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder to write (must be empty or absent)")
    parser.add_argument("--val", type=float, default=0.1, help="share of each class in val/ (default 0.1)")
    parser.add_argument("--test", type=float, default=0.1, help="share of each class in test/ (default 0.1)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split (default 0)")
    args = parser.parse_args(argv)
    if not (0 <= args.val and 0 <= args.test and args.val + args.test < 1):
        parser.error(f"--val {args.val} and --test {args.test} must be shares >= 0 that leave some training data")
    if args.out.exists() and any(args.out.iterdir()):
        parser.error(f"{args.out} is not empty: give a new folder, so no stale image is pushed with the export")
    counts = export(args.out, args.val, args.test, args.seed)
    print(json.dumps({"path": str(args.out), "images": sum(counts.values()), "splits": counts}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
