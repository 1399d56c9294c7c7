"""Decoder: a body decodes the same streamed in chunks of any size as whole."""

from __future__ import annotations

import gzip
import zlib

import brotli
import pytest

from bot.sources.decompress import Decoder, decompress
from bot.sources.fetch_errors import BadResponse, TooLarge

DOCUMENT = b"<rss><channel><title>Harbour</title></channel></rss>" * 40


def _raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


BODIES = {
    "gzip": gzip.compress(DOCUMENT),
    "deflate": zlib.compress(DOCUMENT),
    "raw deflate": _raw_deflate(DOCUMENT),
    "br": brotli.compress(DOCUMENT),
}


def streamed(encoding: str, body: bytes, chunk: int) -> bytes:
    decoder = Decoder(encoding)
    out = b"".join(
        decoder.feed(body[at : at + chunk], 1 << 20) for at in range(0, len(body), chunk)
    )
    return out + decoder.finish()


@pytest.mark.parametrize("name", BODIES)
@pytest.mark.parametrize("chunk", [1, 2, 7, 1 << 16])
def test_a_body_decodes_the_same_streamed_in_any_chunks_as_whole(name, chunk):
    encoding = "deflate" if "deflate" in name else name
    body = BODIES[name]
    assert streamed(encoding, body, chunk) == decompress(body, encoding, len(DOCUMENT)) == DOCUMENT


def test_decoding_whole_is_held_to_the_size_given():
    with pytest.raises(TooLarge):
        decompress(BODIES["gzip"], "gzip", len(DOCUMENT) - 1)


def test_a_deflate_body_of_one_byte_is_cut_short():
    decoder = Decoder("deflate")
    assert decoder.feed(b"\x78", 100) == b""
    with pytest.raises(BadResponse, match="cut short"):
        decoder.finish()
