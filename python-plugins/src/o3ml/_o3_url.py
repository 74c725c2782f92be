"""``o3://<bucket>/<key>`` URLs: which object of the service's bucket a URL names.

One service serves one bucket (``O3ML_BUCKET``, default ``o3ml``, read as the service reads it);
a URL naming another bucket is refused rather than silently read from or written to the wrong
place. A path without the scheme is taken as a key as it is.
"""

from __future__ import annotations

import os

from ._errors import error_for_code

SCHEME = "o3://"
#: The bucket a service serves when ``O3ML_BUCKET`` is not set (the service's own default).
DEFAULT_BUCKET = "o3ml"


def service_bucket() -> str:
    """The bucket the service serves, configured as the service reads it."""
    return os.environ.get("O3ML_BUCKET") or DEFAULT_BUCKET


def object_key(path: str | os.PathLike[str], bucket: str, address: str = "the o3ml service") -> str:
    """The key named by ``o3://bucket/key`` (or by a plain ``key``), checking the bucket."""
    text = os.fspath(path)
    if not text.startswith(SCHEME):
        return text
    named, _, key = text[len(SCHEME) :].partition("/")
    if named != bucket:
        raise error_for_code(
            "INVALID_ARGUMENT",
            f"{text!r} names bucket {named!r}, but {address} serves bucket {bucket!r}: write "
            f"o3://{bucket}/<key>, or set O3ML_SERVICE and O3ML_BUCKET to a service of that bucket",
            {"bucket": named, "service_bucket": bucket},
        )
    return key.strip("/")


def url_of(key: str, bucket: str) -> str:
    return f"{SCHEME}{bucket}/{key}"
