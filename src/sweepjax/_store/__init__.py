"""Zarr persistence: the store format, the resume check, the reader, the writer.

Layers inside the package, bottom to top: `_format`, `_check`, `_lock`,
`_integrity` and `_provenance`, `_reader`, `_layout` (creating and opening
the arrays), `_writer` (the `ZarrSink` executors write through).
"""

from sweepjax._store._lock import StoreBusyError
from sweepjax._store._provenance import describe_space, provenance
from sweepjax._store._reader import StoreInfo, open_result, store_info
from sweepjax._store._writer import ZarrSink, remove_store

__all__ = [
    "StoreBusyError",
    "StoreInfo",
    "ZarrSink",
    "describe_space",
    "open_result",
    "provenance",
    "remove_store",
    "store_info",
]
