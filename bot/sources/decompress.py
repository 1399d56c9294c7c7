"""A compressed body (gzip, deflate, brotli) turned back into bytes under a size cap.

The cap holds while decompressing, not after: each step produces at most CHUNK bytes, so a
small bomb (1 GiB of zeros in 1 MB) is stopped at the cap and never held in memory whole.
"""

from __future__ import annotations

import zlib

import brotli

from bot.sources.fetch_errors import BadResponse, TooLarge

CHUNK = 64 * 1024  # bytes read from the network, or made by one decompression step, at most


class Decoder:
    """Turns a compressed stream into bytes, never producing more than `limit` at once."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._zlib: zlib._Decompress | None = None
        self._brotli: brotli.Decompressor | None = None
        self._head = b""  # deflate's first byte, when it came alone
        if encoding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._zlib = None  # chosen on the first bytes: zlib-wrapped or raw deflate
        elif encoding == "br":
            self._brotli = brotli.Decompressor()
        else:
            raise BadResponse(f"unsupported Content-Encoding {encoding!r}")

    def feed(self, data: bytes, room: int) -> bytes:
        """Decompress DATA; raise TooLarge as soon as the output passes ROOM bytes."""
        try:
            if self._brotli is not None:
                return self._feed_brotli(data, room)
            if self._zlib is None:
                # "deflate" is meant to be zlib-wrapped, but many servers send it raw. Told
                # apart by the first two bytes, whatever chunks they come in: the same body
                # must decode the same way streamed and whole (FetchResult.document).
                data = self._head + data
                if len(data) < 2:
                    self._head = data
                    return b""
                looks_zlib = (
                    len(data) >= 2
                    and (data[0] & 0x0F) == 8
                    and ((data[0] << 8) | data[1]) % 31 == 0
                )
                self._zlib = zlib.decompressobj(zlib.MAX_WBITS if looks_zlib else -zlib.MAX_WBITS)
            return self._feed_zlib(self._zlib, data, room)
        except (zlib.error, brotli.error) as exc:
            raise BadResponse(f"broken {self.encoding} body: {exc}") from None

    @staticmethod
    def _feed_zlib(decoder: zlib._Decompress, data: bytes, room: int) -> bytes:
        out = bytearray()
        pending = data
        while True:
            # max_length bounds each step, so a small bomb cannot allocate its full size.
            out += decoder.decompress(pending, CHUNK)
            if len(out) > room:
                raise TooLarge("")
            pending = decoder.unconsumed_tail
            if not pending:
                return bytes(out)

    def _feed_brotli(self, data: bytes, room: int) -> bytes:
        decoder = self._brotli
        assert decoder is not None
        out = bytearray(decoder.process(data, output_buffer_limit=CHUNK))
        # A step stops at about CHUNK bytes of output and keeps the rest inside the decoder,
        # even when it has taken all the input (`can_accept_more_data()` is then already
        # true): drain it step by step until a step yields nothing or the stream ends.
        while not decoder.is_finished():
            if len(out) > room:
                raise TooLarge("")
            more = decoder.process(b"", output_buffer_limit=CHUNK)
            if not more:
                break  # it needs the next chunk of input
            out += more
        if len(out) > room:
            raise TooLarge("")
        return bytes(out)

    def finish(self) -> bytes:
        """The last bytes; BadResponse when the stream stopped before its end (a page cut short
        would be read as a page that lost its updates and key points)."""
        if self._brotli is not None:
            if not self._brotli.is_finished():
                raise BadResponse(f"{self.encoding} body cut short")
            return b""
        if self._zlib is None:
            raise BadResponse(f"{self.encoding} body is {'cut short' if self._head else 'empty'}")
        try:
            rest = self._zlib.flush()
        except zlib.error as exc:
            raise BadResponse(f"broken {self.encoding} body: {exc}") from None
        if not self._zlib.eof:
            raise BadResponse(f"{self.encoding} body cut short")
        return rest


def decompress(data: bytes, encoding: str, size: int) -> bytes:
    """DATA, a whole body compressed with ENCODING, decoded: at most SIZE bytes (TooLarge past
    them), BadResponse when it is broken or cut short."""
    decoder = Decoder(encoding)
    return decoder.feed(data, size) + decoder.finish()
