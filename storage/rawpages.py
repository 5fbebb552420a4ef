"""Raw pages as stored: one zstd frame each (zlib streams of earlier versions still read)."""

import sys
import threading
import zlib

from storage.models import RawResponse

if sys.version_info >= (3, 14):
    from compression import zstd
else:  # the same module, backported (Scrapy requires it too, for zstd responses)
    from backports import zstd

#: Raw pages are stored as zstd frames at this level (the column keeps its name, body_zlib).
#: On the bench's 210 KB pages (issue 19) zstd level 1 took 0.39 ms a page against 1.75 ms
#: for zlib level 3 (the writer's largest single cost), for output 15% smaller.
RAW_ZSTD_LEVEL = 1
# Every zstd frame starts with this; a zlib stream (pages stored before) never does (0x78...).
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


# One compressor per thread, reused: ``zstd.compress`` makes a new one (its tables allocated
# and cleared) for every page. Told each page's size first, it writes the same frame, byte
# for byte (issue 19: 0.51-0.59 -> 0.46-0.54 ms of CPU a 210 KB bench page).
_compressors = threading.local()


def compress_page(body: bytes) -> bytes:
    compressor = getattr(_compressors, "zstd", None)
    if compressor is None:
        compressor = _compressors.zstd = zstd.ZstdCompressor(level=RAW_ZSTD_LEVEL)
    try:
        compressor.set_pledged_input_size(len(body))
        return compressor.compress(body, mode=zstd.ZstdCompressor.FLUSH_FRAME)
    except BaseException:
        _compressors.zstd = None  # left in the middle of a frame: the next page gets another
        raise


def decompress_page(stored: bytes) -> bytes:
    """A stored raw page: a zstd frame, or a zlib stream written by an earlier version."""
    if stored[:4] == _ZSTD_MAGIC:
        return zstd.decompress(stored)
    return zlib.decompress(stored)


def raw_body(row: RawResponse) -> bytes:
    return decompress_page(row.body_zlib)
