"""Narrow filters for Lightning warnings that o3ml itself causes and that would mislead.

Each filter matches one message exactly (``re.escape`` of the parts that vary), so the same
warning for anything else still shows. ``lift`` removes a filter that was only meant for one
moment of a fit.
"""

from __future__ import annotations

import re
import warnings
from typing import Any


def ignore(message_regex: str) -> Any:
    """Ignores warnings whose message matches; returns the filter, for ``lift``."""
    warnings.filterwarnings("ignore", message=message_regex)
    return warnings.filters[0]


def lift(entry: Any) -> None:
    try:
        # typeshed declares warnings.filters a Sequence so that it is not mutated by accident; it is
        # the module's list, and removing the one entry ``ignore`` added is what lifting means.
        warnings.filters.remove(entry)  # type: ignore[attr-defined]
    except ValueError:
        pass  # already gone (a test's catch_warnings restored the list)


def exactly(text: str) -> str:
    return re.escape(text)
