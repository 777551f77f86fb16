"""Zarr persistence: the store format, the resume check, the reader, the writer.

Layers inside the package, bottom to top: `_format` and `_check`, `_reader`,
`_writer` (the `ZarrSink` executors write through).
"""

from sweepjax._store._reader import StoreInfo, open_result, store_info
from sweepjax._store._writer import ZarrSink, remove_store

__all__ = ["StoreInfo", "ZarrSink", "open_result", "remove_store", "store_info"]
