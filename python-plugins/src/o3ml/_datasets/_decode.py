"""Turning a sample's member bytes into values, by extension (WebDataset's convention).

A sample is a dict with ``__key__`` and one entry per member extension. ``cls`` always becomes
an ``int``. Everything else stays ``bytes`` unless a decoder is asked for:

- ``decode="auto"``: images (png, jpg, jpeg, bmp, gif, webp, tif, tiff) become uint8 tensors
  C×H×W (Pillow, else torchvision); ``npy`` a tensor (numpy); ``json`` the parsed value (a dict
  for rows of a CSV push); ``txt`` a str. Other extensions stay bytes.
- a mapping ``{ext: function(bytes)}``: those extensions only.
- a function ``(sample) -> sample``: the whole sample, after ``cls``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Union

from .._errors import FailedPreconditionError, InvalidArgumentError

__all__ = ["IMAGE_EXTENSIONS", "Decode", "Decoder", "SampleDecoder", "make_decoder"]

Sample = dict[str, Any]
Decode = Union[None, str, Mapping[str, Callable[[bytes], Any]], Callable[[Sample], Sample]]
Decoder = Callable[[Sample], Sample]

IMAGE_EXTENSIONS = frozenset({"png", "jpg", "jpeg", "bmp", "gif", "webp", "tif", "tiff"})


def make_decoder(decode: Decode, fields: Iterable[str]) -> Decoder:
    """The function applied to each sample. ``fields`` (the manifest's extensions) lets a missing
    image library be reported now, in the process that builds the dataset, not mid-epoch.

    The result pickles (when ``decode``'s functions do), so it reaches workers started by spawn.
    """
    if decode is None:
        return SampleDecoder({})
    if decode == "auto":
        table: dict[str, Callable[[bytes], Any]] = {"npy": _npy, "json": _json, "txt": _txt}
        images = IMAGE_EXTENSIONS.intersection(f.lower() for f in fields)
        if images:
            image = image_decoder(sorted(images))
            table.update({ext: image for ext in IMAGE_EXTENSIONS})
        return SampleDecoder(table)
    if isinstance(decode, Mapping):
        return SampleDecoder(dict(decode))
    if callable(decode):
        return SampleDecoder({}, decode)
    raise InvalidArgumentError(
        f"decode must be None, 'auto', a mapping of extension to function, or a function of the sample; got {decode!r}"
    )


class SampleDecoder:
    """Decodes ``cls`` to int, then the extensions of ``table``, then applies ``after``."""

    def __init__(self, table: dict[str, Callable[[bytes], Any]], after: Callable[[Sample], Sample] | None = None) -> None:
        self.table = table
        self.after = after

    def __call__(self, sample: Sample) -> Sample:
        for ext, value in sample.items():
            if ext == "cls":
                sample[ext] = int(value)
            elif ext in self.table:
                sample[ext] = self.table[ext](value)
        return self.after(sample) if self.after is not None else sample


def image_decoder(extensions: list[str]) -> Callable[[bytes], Any]:
    """A bytes → uint8 tensor C×H×W decoder: Pillow's, else torchvision's."""
    try:
        import PIL.Image  # noqa: F401
    except ModuleNotFoundError:
        pass
    else:
        return _pil_image
    try:
        import torchvision.io  # noqa: F401
    except ModuleNotFoundError:
        raise FailedPreconditionError(
            f"the dataset has {', '.join(extensions)} images and decode='auto' turns them into tensors, "
            "which needs Pillow or torchvision, and neither is installed: pip install pillow, or pass "
            "decode=None to get the image bytes",
            {"extensions": extensions},
        ) from None
    return _torchvision_image


def _pil_image(data: bytes) -> Any:
    import numpy as np
    import torch
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        array = np.asarray(img if img.mode in ("L", "RGB", "RGBA") else img.convert("RGB"))
    tensor = torch.from_numpy(array.copy())
    return tensor.unsqueeze(0) if tensor.ndim == 2 else tensor.permute(2, 0, 1).contiguous()


def _torchvision_image(data: bytes) -> Any:
    import torch
    from torchvision.io import decode_image

    return decode_image(torch.frombuffer(bytearray(data), dtype=torch.uint8))


def _npy(data: bytes) -> Any:
    import numpy as np
    import torch

    array = np.load(io.BytesIO(data), allow_pickle=False)
    # np.load of an in-memory file returns a read-only view of the bytes it read; torch wants to own.
    return torch.from_numpy(array if array.flags.writeable else array.copy())


def _json(data: bytes) -> Any:
    return json.loads(data)


def _txt(data: bytes) -> str:
    return data.decode("utf-8")
