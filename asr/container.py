"""The checksummed binary container of the model (``*.asrm``) and language
model (``*.asrlm``) files.

Layout (all integers little-endian)::

    offset 0   magic         8 bytes, one per file kind
           8   version       u32      the kind's format version
          12   header_len    u32      bytes of JSON that follow
          16   data_len      u64      bytes of array data
          24   header        JSON (UTF-8); its "tensors" table gives every
                             array's dtype, shape, offset and byte size
               padding       zeros up to a multiple of 64
               data          arrays, each at a 64-byte aligned offset
               checksum      32 bytes: SHA-256 of every byte before it

Everything is checked before any array is made from it, so a damaged file
raises the kind's error naming what is wrong, never an allocation sized by
garbage.
"""
import hashlib
import json
import os
import struct

import numpy as np

ALIGN = 64
DTYPES = {"float32": np.float32, "int8": np.int8, "int16": np.int16,
          "int32": np.int32, "int64": np.int64, "uint8": np.uint8}


class Writer:
    """Collects arrays for one file: ``add`` returns the name to put in the
    header, ``write`` lays out header, data and checksum atomically."""

    def __init__(self):
        self.tensors, self.blobs, self.offset = {}, [], 0

    def add(self, name, arr):
        arr = np.ascontiguousarray(arr)
        pad = (-self.offset) % ALIGN
        if pad:
            self.blobs.append(b"\0" * pad)
            self.offset += pad
        self.tensors[name] = {"dtype": arr.dtype.name, "shape": list(arr.shape),
                              "offset": self.offset, "nbytes": arr.nbytes}
        self.blobs.append(arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes())
        self.offset += arr.nbytes
        return name

    def add_strings(self, name, strings):
        """A list of strings (none holding a newline) as one UTF-8 uint8 array."""
        return self.add(name, np.frombuffer("\n".join(strings).encode("utf-8"), dtype=np.uint8))

    def write(self, path, magic, version, header):
        """``header`` gets the tensor table as "tensors"; temp file, then rename."""
        header = dict(header, tensors=self.tensors)
        hjson = json.dumps(header, indent=1, sort_keys=True).encode("utf-8")
        pre = magic + struct.pack("<IIQ", version, len(hjson), self.offset) + hjson
        pre += b"\0" * ((-len(pre)) % ALIGN)
        body = pre + b"".join(self.blobs)
        tmp = "%s.tmp%d" % (path, os.getpid())
        with open(tmp, "wb") as f:
            f.write(body)
            f.write(hashlib.sha256(body).digest())
        os.replace(tmp, path)


def has_magic(path, magic):
    """Whether the file at ``path`` starts with ``magic`` (False when it
    cannot be read: the caller's text reader then names the problem)."""
    try:
        with open(path, "rb") as f:
            return f.read(len(magic)) == magic
    except OSError:
        return False


def load(path, magic, version, kind, error, build):
    """``build(header, tensors, name)`` of the container file at ``path``;
    every problem (unreadable, damaged, or refused by ``build``) raises
    ``error("PATH: what is wrong")``."""
    name = str(path)

    def fail(msg):
        raise error("%s: %s" % (name, msg))

    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise error("%s: cannot read: %s" % (name, exc.strerror)) from None
    header, tensors = read(data, magic, version, kind, fail)
    try:
        return build(header, tensors, name)
    except error as exc:
        fail(str(exc))
    except (KeyError, TypeError, ValueError, UnicodeDecodeError) as exc:
        fail("malformed header or arrays: %s: %s" % (type(exc).__name__, exc))


def read(data, magic, version, kind, fail):
    """(header, :class:`Tensors`) of a container held in ``data`` (bytes);
    ``fail(msg)`` raises the caller's error. ``kind`` names the file in
    messages ("model file")."""
    if len(data) < 8 or data[:8] != magic:
        fail("not a %s (bad magic %r; expected %r)" % (kind, bytes(data[:8]), magic))
    if len(data) < 24:
        fail("truncated: %d bytes, shorter than the fixed header" % len(data))
    found, hlen, dlen = struct.unpack_from("<IIQ", data, 8)
    if found != version:
        fail("format version %d; this library reads version %d" % (found, version))
    data_start = 24 + hlen + ((-(24 + hlen)) % ALIGN)
    expected = data_start + dlen + 32
    if len(data) < expected:
        fail("truncated: %d bytes, the header announces %d" % (len(data), expected))
    if len(data) > expected:
        fail("%d unexpected bytes after the checksum" % (len(data) - expected))
    if hashlib.sha256(data[:-32]).digest() != bytes(data[-32:]):
        fail("checksum mismatch: the file is corrupted")
    try:
        header = json.loads(bytes(data[24:24 + hlen]).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        fail("the JSON header does not parse: %s" % exc)
    if not isinstance(header, dict) or not isinstance(header.get("tensors"), dict):
        fail("the header has no tensor table")
    return header, Tensors(header["tensors"], memoryview(data)[data_start:data_start + dlen], dlen)


class Tensors:
    """The arrays of a container, checked against the data section."""

    def __init__(self, table, body, dlen):
        self.table, self.body, self.dlen = table, body, dlen

    def strings(self, name):
        """The list of strings stored by :meth:`Writer.add_strings`."""
        return bytes(self.get(name, np.uint8)).decode("utf-8").split("\n")

    def get(self, name, dtype=None, max_dim=1 << 31):
        """Array ``name`` (a copy); ValueError when its entry is impossible,
        lies outside the data or is not ``dtype``; KeyError when absent."""
        t = self.table[name]
        dt = DTYPES.get(t["dtype"])
        if dt is None:
            raise ValueError("tensor %s has unknown dtype %r" % (name, t["dtype"]))
        shape = [int(s) for s in t["shape"]]
        if any(s < 0 or s > max_dim for s in shape):
            raise ValueError("tensor %s has an impossible shape %s" % (name, shape))
        n = int(np.prod(shape, dtype=np.int64)) * np.dtype(dt).itemsize
        off = int(t["offset"])
        if n != int(t["nbytes"]) or off < 0 or off % ALIGN or off + n > self.dlen:
            raise ValueError("tensor %s lies outside the data section or has a wrong size" % name)
        if dtype is not None and dt != dtype:
            raise ValueError("tensor %s must be %s" % (name, np.dtype(dtype).name))
        return np.frombuffer(self.body, dtype=np.dtype(dt).newbyteorder("<"),
                             count=n // np.dtype(dt).itemsize, offset=off).astype(dt).reshape(shape)
