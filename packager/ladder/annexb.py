"""Annex B (start codes) → AVCC (length prefixes), the form MP4 and the packager carry.

libx264 writes Annex B even with a global header: its extradata is start-code-prefixed SPS and
PPS, its packets start-code-prefixed NAL units. The passthrough rendition carries AVCC (as RTMP
delivers it), and ``CmafMuxer`` hands movenc an ``avcC`` record verbatim, in which case movenc
copies packets untouched. So encoded rungs are converted here to look exactly like a source.
"""

from __future__ import annotations

import re
import struct

_START_CODE = re.compile(b"\x00\x00\x01")
_NAL_SPS = 7
_NAL_PPS = 8


def split_nal_units(data: bytes) -> list[bytes]:
    """NAL units of an Annex B byte stream (3- and 4-byte start codes; trailing zeros dropped)."""
    starts = [m.end() for m in _START_CODE.finditer(data)]
    ends = [m.start() for m in _START_CODE.finditer(data)][1:] + [len(data)]
    return [data[s:e].rstrip(b"\x00") for s, e in zip(starts, ends) if e > s]


def to_length_prefixed(data: bytes) -> bytes:
    """One access unit with 4-byte big-endian NAL lengths instead of start codes."""
    return b"".join(struct.pack(">I", len(nal)) + nal for nal in split_nal_units(data))


def avc_decoder_configuration(extradata: bytes) -> bytes:
    """AVCDecoderConfigurationRecord (ISO/IEC 14496-15 5.3.3.1) from Annex B SPS/PPS.

    The High-profile extension fields (chroma format, bit depths) are optional in practice and
    omitted: decoders read them from the SPS.
    """
    nals = split_nal_units(extradata)
    sps = [n for n in nals if n[0] & 0x1F == _NAL_SPS]
    pps = [n for n in nals if n[0] & 0x1F == _NAL_PPS]
    if not sps or not pps:
        raise ValueError("encoder extradata lacks SPS or PPS")
    record = bytearray([1, sps[0][1], sps[0][2], sps[0][3], 0xFC | 3, 0xE0 | len(sps)])
    for nal in sps:
        record += struct.pack(">H", len(nal)) + nal
    record.append(len(pps))
    for nal in pps:
        record += struct.pack(">H", len(nal)) + nal
    return bytes(record)
