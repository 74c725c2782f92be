"""Checkpoints shaped like the ones users save, built from shapes alone (no model code, no download).

- ``uniform``: ``tensors`` float32 tensors of ``tensor_mib`` MiB each (16 x 8 MiB: the old single
  cell, kept so its figures stay comparable).
- ``resnet50``: a Lightning checkpoint of a ResNet-50 (the 320 entries of its state dict: 161
  weights and biases, 106 batch-norm statistics, 53 int64 counters, so many tiny tensors) with
  SGD momentum in ``optimizer_states``: about 98 MiB of weights plus as much optimizer state.
  ``width`` scales every channel count (1.0 is ResNet-50 itself).
- ``transformer``: a GPT-2-layout decoder (token and position embeddings, ``layers`` blocks of
  12 tensors, final norm), float32 weights: 20 layers of width 1024 are 1.13 GiB in 244 tensors.

A shape larger than ``cap_mib`` (the run's ``--max-size-mib``) is shrunk until it fits, and its
label says the size it really has. ``perturb`` changes every byte of every tensor in place, so
that each repeat saves a model no store has seen (o3ml deduplicates identical tensors).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

MiB = 1 << 20


@dataclass(frozen=True)
class Shape:
    kind: str
    tensors: int = 16
    tensor_mib: float = 8.0
    width: float = 1.0
    layers: int = 20
    hidden: int = 1024
    vocab: int = 50304
    context: int = 1024


def shape_from_plan(spec: dict[str, Any]) -> Shape:
    return Shape(**{k: v for k, v in spec.items() if k in Shape.__dataclass_fields__})


def _resnet50_entries(width: float) -> list[tuple[str, tuple[int, ...], torch.dtype, bool]]:
    """(name, shape, dtype, learnable) of a ResNet-50 state dict, in its order."""
    out: list[tuple[str, tuple[int, ...], torch.dtype, bool]] = []
    ch = lambda n: max(1, round(n * width))  # noqa: E731

    def bn(prefix: str, n: int) -> None:
        out.extend([(f"{prefix}.weight", (n,), torch.float32, True), (f"{prefix}.bias", (n,), torch.float32, True)])
        out.extend([(f"{prefix}.running_mean", (n,), torch.float32, False), (f"{prefix}.running_var", (n,), torch.float32, False)])
        out.append((f"{prefix}.num_batches_tracked", (), torch.int64, False))

    out.append(("conv1.weight", (ch(64), 3, 7, 7), torch.float32, True))
    bn("bn1", ch(64))
    inplanes = ch(64)
    for layer, (planes, blocks) in enumerate([(64, 3), (128, 4), (256, 6), (512, 3)], start=1):
        p, expanded = ch(planes), ch(planes * 4)
        for block in range(blocks):
            pre = f"layer{layer}.{block}"
            out.append((f"{pre}.conv1.weight", (p, inplanes, 1, 1), torch.float32, True))
            bn(f"{pre}.bn1", p)
            out.append((f"{pre}.conv2.weight", (p, p, 3, 3), torch.float32, True))
            bn(f"{pre}.bn2", p)
            out.append((f"{pre}.conv3.weight", (expanded, p, 1, 1), torch.float32, True))
            bn(f"{pre}.bn3", expanded)
            if block == 0:
                out.append((f"{pre}.downsample.0.weight", (expanded, inplanes, 1, 1), torch.float32, True))
                bn(f"{pre}.downsample.1", expanded)
            inplanes = expanded
    out.extend([("fc.weight", (1000, inplanes), torch.float32, True), ("fc.bias", (1000,), torch.float32, True)])
    return out


def _transformer_entries(s: Shape) -> list[tuple[str, tuple[int, ...], torch.dtype, bool]]:
    d = s.hidden
    out = [("transformer.wte.weight", (s.vocab, d)), ("transformer.wpe.weight", (s.context, d))]
    for i in range(s.layers):
        h = f"transformer.h.{i}"
        out += [
            (f"{h}.ln_1.weight", (d,)), (f"{h}.ln_1.bias", (d,)),
            (f"{h}.attn.c_attn.weight", (d, 3 * d)), (f"{h}.attn.c_attn.bias", (3 * d,)),
            (f"{h}.attn.c_proj.weight", (d, d)), (f"{h}.attn.c_proj.bias", (d,)),
            (f"{h}.ln_2.weight", (d,)), (f"{h}.ln_2.bias", (d,)),
            (f"{h}.mlp.c_fc.weight", (d, 4 * d)), (f"{h}.mlp.c_fc.bias", (4 * d,)),
            (f"{h}.mlp.c_proj.weight", (4 * d, d)), (f"{h}.mlp.c_proj.bias", (d,)),
        ]  # fmt: skip
    out += [("transformer.ln_f.weight", (d,)), ("transformer.ln_f.bias", (d,))]
    return [(name, shape, torch.float32, True) for name, shape in out]


def _entries(s: Shape) -> list[tuple[str, tuple[int, ...], torch.dtype, bool]]:
    if s.kind == "uniform":
        per = int(s.tensor_mib * MiB) // 4
        return [(f"block{i}.weight", (per,), torch.float32, True) for i in range(s.tensors)]
    if s.kind == "resnet50":
        return _resnet50_entries(s.width)
    if s.kind == "transformer":
        return _transformer_entries(s)
    raise ValueError(f"unknown checkpoint shape {s.kind!r}")


def _numel(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def nbytes(s: Shape) -> int:
    """Bytes of every tensor of the checkpoint, optimizer state included."""
    entries = _entries(s)
    weights = sum(_numel(shape) * (8 if dtype == torch.int64 else 4) for _, shape, dtype, _ in entries)
    momentum = sum(_numel(shape) * 4 for _, shape, _, learnable in entries if learnable) if s.kind == "resnet50" else 0
    return weights + momentum


def fit(s: Shape, cap_mib: float | None) -> Shape:
    """``s``, shrunk (halving its largest dimension) until it is at most ``cap_mib`` MiB (None: as is)."""
    from dataclasses import replace

    while cap_mib is not None and nbytes(s) > cap_mib * MiB:
        if s.kind == "uniform":
            s = replace(s, tensor_mib=s.tensor_mib / 2)
        elif s.kind == "resnet50":
            s = replace(s, width=s.width / 2)
        elif s.layers > 1:
            s = replace(s, layers=max(1, s.layers // 2))
        else:
            s = replace(s, hidden=max(8, s.hidden // 2), vocab=max(8, s.vocab // 2), context=max(8, s.context // 2))
    return s


def label(s: Shape) -> str:
    """What the report calls this checkpoint: its kind, real size and tensor count."""
    state = build(s, materialize=False)
    mib = nbytes(s) / MiB
    size = f"{mib / 1024:.2f} GiB" if mib >= 1024 else f"{mib:.0f} MiB" if mib >= 10 else f"{mib:.1f} MiB"
    names = {"uniform": f"{s.tensors} x {s.tensor_mib:g} MiB", "resnet50": "ResNet-50-like + SGD momentum", "transformer": "transformer-like"}
    return f"{names[s.kind]}, {size}, {count_tensors(state)} tensors"


def count_tensors(state: Any) -> int:
    if isinstance(state, torch.Tensor):
        return 1
    if isinstance(state, dict):
        return sum(count_tensors(v) for v in state.values())
    if isinstance(state, (list, tuple)):
        return sum(count_tensors(v) for v in state)
    return 0


def build(s: Shape, seed: int = 7, materialize: bool = True) -> dict[str, Any]:
    """The checkpoint as Lightning hands it to a CheckpointIO. ``materialize=False`` allocates
    zero-size stand-ins (for counting)."""
    generator = torch.Generator().manual_seed(seed)

    def tensor(shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
        if not materialize:
            return torch.empty(0)
        if dtype == torch.int64:
            return torch.tensor(100, dtype=torch.int64) if shape == () else torch.zeros(shape, dtype=dtype)
        return torch.randn(shape, generator=generator, dtype=dtype)

    entries = _entries(s)
    state_dict = {name: tensor(shape, dtype) for name, shape, dtype, _ in entries}
    checkpoint: dict[str, Any] = {"epoch": 1, "global_step": 100, "pytorch-lightning_version": "2.6.6", "state_dict": state_dict, "loops": {}, "callbacks": {}}
    if s.kind == "resnet50":
        learnable = [(name, shape) for name, shape, _, is_param in entries if is_param]
        checkpoint["optimizer_states"] = [
            {
                "state": {i: {"momentum_buffer": tensor(shape, torch.float32)} for i, (_, shape) in enumerate(learnable)},
                "param_groups": [
                    {"lr": 0.1, "momentum": 0.9, "dampening": 0, "weight_decay": 1e-4, "nesterov": False, "maximize": False,
                     "foreach": None, "differentiable": False, "fused": None, "params": list(range(len(learnable)))}
                ],
            }
        ]  # fmt: skip
        checkpoint["lr_schedulers"] = []
    return checkpoint


def perturb(state: Any, step: int) -> None:
    """Changes every element of every tensor in place (a training step's worth of change)."""
    if isinstance(state, torch.Tensor):
        if state.is_floating_point():
            state.add_(1e-3 * (step + 1))
        else:
            state.add_(1)
    elif isinstance(state, dict):
        for v in state.values():
            perturb(v, step)
    elif isinstance(state, (list, tuple)):
        for v in state:
            perturb(v, step)


def same(a: Any, b: Any) -> bool:
    """Deep equality of two checkpoints, tensors compared exactly."""
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return bool(a == b)
