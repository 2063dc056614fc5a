#!/usr/bin/env python3
"""pyarrow as Quiver's independent judge.

Plain pyarrow + the standard library; no Quiver code. Every subcommand prints JSON on stdout; on a
problem it prints a message on stderr and exits 1.

  canon PATH [PATH...]             canonical JSON of each file: {format, schema: [{name, type, nullable}],
                                   metadata, field_metadata, batch_metadata, batches, rows, validation,
                                   columns (by position)}; one path prints one object, several print a list
                                   (in serve mode, always a list)
  equal ORIGINAL CANDIDATE [...]   compare each candidate with the original (schema + metadata + values)
  write PATH --format stream|file|feather --compression none|lz4|zstd --case NAME [--rows N --batches B]
                                   write pyarrow-produced test data (cases: basic, exotic, modern,
                                   dict_delta, legacy, metadata, big)
  inspect PATH                     list the IPC messages of a file (type, body length, compression, ...)
  serve                            one JSON request per stdin line ({"id":..,"cmd":..,"args":[..]}),
                                   one JSON reply per stdout line ({"id":..,"ok":true,"result":..} or
                                   {"id":..,"ok":false,"error":".."})

Canonical values (the TypeScript side, canonFromArrow in src/index.ts, must produce the same JSON):
  null -> null; integers -> decimal string; floats -> number, NaN/Infinity/-Infinity as strings, -0.0 as 0;
  bool -> true/false; utf8 family -> string; binary family -> lowercase hex; decimal (any width) -> the
  unscaled integer as a decimal string; date32 -> days string; date64 -> ms string; time/timestamp/duration
  -> the stored integer string in its unit; interval months -> string; day_time -> [days, ms];
  month_day_nano -> [months, days, nanos] (strings); list family -> array; struct -> array of child values in
  field order; map -> array of [key, value]; union -> [type_code (number), child value]; dictionary -> decoded
  value; run_end_encoded -> logical value; null type -> null; extension -> storage value.
"""

import argparse
import bisect
import json
import math
import os
import random
import struct
import sys
import traceback

import pyarrow as pa
import pyarrow.ipc as ipc

ARROW_MAGIC = b"ARROW1"


class JudgeError(Exception):
    """A problem reported to the caller as a message (exit 1 / ok:false)."""


# --------------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------------


def detect_format(path):
    """'file' if the file has the Arrow file magic at both ends (Feather V2 is this format), else 'stream'."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(6)
        if head == ARROW_MAGIC and size >= 12:
            f.seek(size - 6)
            if f.read(6) == ARROW_MAGIC:
                return "file"
    return "stream"


def _open(path):
    if not os.path.exists(path):
        raise JudgeError(f"no such file: {path}")
    fmt = detect_format(path)
    source = pa.memory_map(path, "r")
    if fmt == "file":
        return fmt, ipc.open_file(source)
    return fmt, ipc.open_stream(source)


def _decode_meta(meta):
    if not meta:
        return {}
    return {
        k.decode("utf-8", "backslashreplace"): v.decode("utf-8", "backslashreplace")
        for k, v in meta.items()
    }


def read_batches(path):
    """(format, schema, [(batch, custom_metadata dict or None)]).

    Every batch gets pyarrow's structural validation, so a malformed file is an error here rather than a crash
    later. (Full validation also rejects value-level oddities the golden files contain on purpose, such as
    decimals beyond their precision or date64 values that are not whole days: see validation_problems.)
    """
    fmt, reader = _open(path)
    out = []
    if fmt == "file":
        for i in range(reader.num_record_batches):
            b = reader.get_batch_with_custom_metadata(i)
            out.append((b.batch, b.custom_metadata))
    else:
        while True:
            try:
                b = reader.read_next_batch_with_custom_metadata()
            except StopIteration:
                break
            out.append((b.batch, b.custom_metadata))
    for batch, _ in out:
        batch.validate()
    return fmt, reader.schema, out


def validation_problems(batches):
    """Messages of pyarrow's full validation (offsets, UTF-8, decimal precision, ...), one per failing batch."""
    problems = []
    for i, batch in enumerate(batches):
        try:
            batch.validate(full=True)
        except pa.ArrowException as e:
            problems.append(f"batch {i}: {e}")
    return problems


def read_table(path):
    fmt, schema, batches = read_batches(path)
    return fmt, pa.Table.from_batches([b for b, _ in batches], schema=schema)


# --------------------------------------------------------------------------------------------------
# Canonical values
# --------------------------------------------------------------------------------------------------


class _StandInType(pa.ExtensionType):
    """Stands in for month_interval / day_time_interval, whose arrays pyarrow cannot wrap in Python
    (KeyError on the type id in get_array_class_from_type).

    The storage (int32 for months, int64 for day_time) has the same C layout (validity + fixed-width values),
    so a batch is re-imported through the C data interface with this type in their place (_physical_batch).
    """

    def __init__(self, kind):
        self.kind = kind
        super().__init__(pa.int32() if kind == "months" else pa.int64(), "quiver.judge." + kind)

    def __arrow_ext_serialize__(self):
        return self.kind.encode()

    @classmethod
    def __arrow_ext_deserialize__(cls, storage_type, serialized):
        return cls(serialized.decode())


_STAND_INS = {kind: _StandInType(kind) for kind in ("months", "day_time")}
for _t in _STAND_INS.values():
    try:
        pa.register_extension_type(_t)
    except pa.ArrowKeyError:
        pass  # already registered (module imported twice)


def _subst_type(t):
    """t with every day_time_interval replaced by _DayTimeType (same physical layout)."""
    types = pa.types
    if _interval_kind(t) in _STAND_INS:
        return _STAND_INS[_interval_kind(t)]
    if isinstance(t, pa.BaseExtensionType):
        return t  # its storage is reached through .storage; leave registered extensions alone
    sub_field = lambda f: f.with_type(_subst_type(f.type))  # noqa: E731
    if types.is_map(t):
        return pa.map_(sub_field(t.key_field), sub_field(t.item_field), t.keys_sorted)
    if types.is_list(t):
        return pa.list_(sub_field(t.value_field))
    if types.is_large_list(t):
        return pa.large_list(sub_field(t.value_field))
    if types.is_list_view(t):
        return pa.list_view(sub_field(t.value_field))
    if types.is_large_list_view(t):
        return pa.large_list_view(sub_field(t.value_field))
    if types.is_fixed_size_list(t):
        return pa.list_(sub_field(t.value_field), t.list_size)
    if types.is_struct(t):
        return pa.struct([sub_field(t.field(i)) for i in range(t.num_fields)])
    if types.is_union(t):
        return pa.union([sub_field(t.field(i)) for i in range(t.num_fields)], t.mode, t.type_codes)
    if types.is_dictionary(t):
        return pa.dictionary(t.index_type, _subst_type(t.value_type), t.ordered)
    if types.is_run_end_encoded(t):
        return pa.run_end_encoded(t.run_end_type, _subst_type(t.value_type))
    return t


class _CArrayWithSchema:
    def __init__(self, batch, schema):
        self.batch, self.schema = batch, schema

    def __arrow_c_array__(self, requested_schema=None):
        _, array_capsule = self.batch.__arrow_c_array__()
        return self.schema.__arrow_c_schema__(), array_capsule


def _physical_batch(batch):
    """The batch itself, or (if it holds day_time intervals) the same buffers re-typed so pyarrow can wrap them."""
    if "month_interval" not in str(batch.schema) and "day_time_interval" not in str(batch.schema):
        return batch
    schema = pa.schema([f.with_type(_subst_type(f.type)) for f in batch.schema], metadata=batch.schema.metadata)
    if schema.equals(batch.schema):
        return batch
    return pa.record_batch(_CArrayWithSchema(batch, schema))


def canon_float(v):
    if v is None:
        return None
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    if v == 0:
        return 0  # -0.0 and 0.0 alike
    return v


def _ints(values):
    return [None if v is None else str(v) for v in values]


def _validity(arr):
    if arr.null_count == 0:
        return [True] * len(arr)
    return arr.is_valid().to_pylist()


def _fixed_raw(arr, width):
    """(validity, memoryview of the data buffer, first byte of element 0) for a fixed-width array."""
    buf = arr.buffers()[1]
    mv = memoryview(buf) if buf is not None else memoryview(b"")
    return _validity(arr), mv, arr.offset * width


def _interval_kind(t):
    s = str(t)
    if s == "month_interval":
        return "months"
    if s == "day_time_interval":
        return "day_time"
    if s == "month_day_nano_interval":
        return "month_day_nano"
    return None


def canon_array(arr):
    """Canonical values of one pyarrow Array (any type), as a Python list of len(arr)."""
    t = arr.type
    n = len(arr)
    types = pa.types
    if n == 0:
        return []  # also avoids pyarrow crashing on absent buffers of empty arrays (e.g. union type_codes)

    if isinstance(t, _StandInType) and t.kind == "months":
        return _ints(arr.storage.to_pylist())
    if isinstance(t, _StandInType):  # day_time
        arr = arr.storage
        valid, mv, base = _fixed_raw(arr, 8)
        out = []
        for i in range(n):
            if not valid[i]:
                out.append(None)
            else:
                d, ms = struct.unpack_from("<ii", mv, base + 8 * i)
                out.append([str(d), str(ms)])
        return out
    if isinstance(t, pa.BaseExtensionType):
        return canon_array(arr.storage)
    if types.is_null(t):
        return [None] * n
    if types.is_boolean(t):
        return arr.to_pylist()
    if types.is_integer(t):
        return _ints(arr.to_pylist())
    if types.is_floating(t):
        if types.is_float16(t):
            arr = arr.cast(pa.float32())  # exact widening
        return [canon_float(v) for v in arr.to_pylist()]
    if types.is_string(t) or types.is_large_string(t) or types.is_string_view(t):
        return arr.to_pylist()
    if (
        types.is_binary(t)
        or types.is_large_binary(t)
        or types.is_binary_view(t)
        or types.is_fixed_size_binary(t)
    ):
        return [None if v is None else v.hex() for v in arr.to_pylist()]
    if types.is_decimal(t):
        width = t.byte_width
        valid, mv, base = _fixed_raw(arr, width)
        out = []
        for i in range(n):
            if not valid[i]:
                out.append(None)
            else:
                s = base + i * width
                out.append(str(int.from_bytes(mv[s : s + width], "little", signed=True)))
        return out
    if types.is_date32(t) or types.is_time32(t):
        return _ints(arr.view(pa.int32()).to_pylist())
    if types.is_date64(t) or types.is_time64(t) or types.is_timestamp(t) or types.is_duration(t):
        return _ints(arr.view(pa.int64()).to_pylist())
    kind = _interval_kind(t)
    if kind == "month_day_nano":
        valid, mv, base = _fixed_raw(arr, 16)
        out = []
        for i in range(n):
            if not valid[i]:
                out.append(None)
            else:
                m, d, ns = struct.unpack_from("<iiq", mv, base + 16 * i)
                out.append([str(m), str(d), str(ns)])
        return out
    if types.is_list(t) or types.is_large_list(t) or types.is_map(t):
        # offsets respect the slice; values is the whole child (map: struct<key, value> -> [k, v]).
        offs = arr.offsets.to_pylist()
        valid = _validity(arr)
        if n == 0:
            return []
        start, end = offs[0], offs[-1]
        cv = canon_array(arr.values.slice(start, end - start))
        return [cv[offs[i] - start : offs[i + 1] - start] if valid[i] else None for i in range(n)]
    if types.is_list_view(t) or types.is_large_list_view(t):
        offs = arr.offsets.to_pylist()
        sizes = arr.sizes.to_pylist()
        valid = _validity(arr)
        cv = canon_array(arr.values)
        return [cv[offs[i] : offs[i] + sizes[i]] if valid[i] else None for i in range(n)]
    if types.is_fixed_size_list(t):
        size = t.list_size
        valid = _validity(arr)
        cv = canon_array(arr.values.slice(arr.offset * size, n * size))  # .values ignores the offset
        return [cv[i * size : (i + 1) * size] if valid[i] else None for i in range(n)]
    if types.is_struct(t):
        valid = _validity(arr)
        kids = [canon_array(arr.field(j)) for j in range(t.num_fields)]  # field() applies the offset
        return [[k[i] for k in kids] if valid[i] else None for i in range(n)]
    if types.is_union(t):
        # UnionArray.type_codes / .offsets ignore the array's offset (pyarrow 25), so read the raw buffers.
        bufs = arr.buffers()
        codes = list(struct.unpack_from(f"<{n}b", memoryview(bufs[1]), arr.offset))
        index_of = {c: j for j, c in enumerate(t.type_codes)}
        kids = [canon_array(arr.field(j)) for j in range(t.num_fields)]
        if t.mode == "sparse":  # field() adjusts sparse children to the slice
            return [[c, kids[index_of[c]][i]] for i, c in enumerate(codes)]
        offs = struct.unpack_from(f"<{n}i", memoryview(bufs[2]), 4 * arr.offset)  # dense: children unsliced
        return [[c, kids[index_of[c]][offs[i]]] for i, c in enumerate(codes)]
    if types.is_dictionary(t):
        dv = canon_array(arr.dictionary)
        return [None if k is None else dv[k] for k in arr.indices.to_pylist()]
    if types.is_run_end_encoded(t):
        ends = arr.run_ends.to_pylist()
        vals = canon_array(arr.values)
        out = []
        j = bisect.bisect_right(ends, arr.offset)
        for logical in range(arr.offset, arr.offset + n):
            while ends[j] <= logical:
                j += 1
            out.append(vals[j])
        return out
    raise JudgeError(f"canon: unsupported type {t}")


def canon_batches(batches, ncols):
    """Canonical columns (by position) of a sequence of record batches."""
    columns = [[] for _ in range(ncols)]
    for batch in batches:
        batch = _physical_batch(batch)
        for j in range(ncols):
            columns[j].extend(canon_array(batch.column(j)))
    return columns


def schema_json(schema):
    return [{"name": f.name, "type": str(f.type), "nullable": f.nullable} for f in schema]


def canon_file(path):
    fmt, schema, batches = read_batches(path)
    columns = canon_batches((b for b, _ in batches), len(schema))
    return {
        "format": fmt,
        "schema": schema_json(schema),
        "metadata": _decode_meta(schema.metadata),
        "field_metadata": [_decode_meta(f.metadata) for f in schema],
        "batch_metadata": [_decode_meta(m) if m is not None else None for _, m in batches],
        "batches": len(batches),
        "rows": sum(b.num_rows for b, _ in batches),
        "validation": validation_problems([b for b, _ in batches]),
        "columns": columns,
    }


# --------------------------------------------------------------------------------------------------
# IPC framing and just enough flatbuffer to find messages and RecordBatch.compression
# --------------------------------------------------------------------------------------------------


class _Table:
    """A flatbuffer table: read scalar fields and sub-tables by field index."""

    def __init__(self, buf, pos):
        self.buf = buf
        self.pos = pos
        vt = pos - struct.unpack_from("<i", buf, pos)[0]
        self.vt = vt
        self.vt_size = struct.unpack_from("<H", buf, vt)[0]

    def _off(self, field):
        o = 4 + 2 * field
        if o >= self.vt_size:
            return 0
        return struct.unpack_from("<H", self.buf, self.vt + o)[0]

    def scalar(self, field, fmt, default):
        o = self._off(field)
        if not o:
            return default
        return struct.unpack_from("<" + fmt, self.buf, self.pos + o)[0]

    def table(self, field):
        o = self._off(field)
        if not o:
            return None
        p = self.pos + o
        return _Table(self.buf, p + struct.unpack_from("<I", self.buf, p)[0])

    def vector_pos(self, field):
        """(position of element 0, length) of a vector field, or None."""
        o = self._off(field)
        if not o:
            return None
        p = self.pos + o
        v = p + struct.unpack_from("<I", self.buf, p)[0]
        return v + 4, struct.unpack_from("<I", self.buf, v)[0]


def _root(buf):
    return _Table(buf, struct.unpack_from("<I", buf, 0)[0])


HEADER_NAMES = {1: "schema", 2: "dictionary", 3: "record_batch", 4: "tensor", 5: "sparse_tensor"}
CODEC_NAMES = {0: "lz4", 1: "zstd"}


def _describe_message(meta, offset):
    msg = _root(meta)
    htype = msg.scalar(1, "B", 0)
    info = {
        "offset": offset,
        "type": HEADER_NAMES.get(htype, f"unknown({htype})"),
        "version": msg.scalar(0, "h", 0),
        "body_length": msg.scalar(3, "q", 0),
    }
    header = msg.table(2)
    batch = None
    if htype == 3:
        batch = header
    elif htype == 2 and header is not None:
        info["dictionary_id"] = header.scalar(0, "q", 0)
        info["is_delta"] = bool(header.scalar(2, "B", 0))
        batch = header.table(1)
    if batch is not None:
        info["length"] = batch.scalar(0, "q", 0)
        comp = batch.table(3)
        info["compression"] = "none" if comp is None else CODEC_NAMES.get(comp.scalar(0, "b", 0), "unknown")
    return info


def _stream_messages(data, pos, end):
    """Walk stream framing from pos; returns (messages, legacy_framing_seen)."""
    out = []
    legacy = False
    while pos + 4 <= end:
        (word,) = struct.unpack_from("<I", data, pos)
        if word == 0xFFFFFFFF:
            if pos + 8 > end:
                break
            (length,) = struct.unpack_from("<i", data, pos + 4)
            start = pos + 8
        else:
            length = struct.unpack_from("<i", data, pos)[0]
            start = pos + 4
            if length > 0:
                legacy = True
        if length <= 0:
            break  # end-of-stream marker
        meta = bytes(data[start : start + length])
        info = _describe_message(meta, pos)
        out.append(info)
        pos = start + length + info["body_length"]
    return out, legacy


def inspect_file(path):
    with open(path, "rb") as f:
        data = f.read()
    fmt = detect_format(path)
    if fmt == "file":
        (footer_len,) = struct.unpack_from("<i", data, len(data) - 10)
        footer_start = len(data) - 10 - footer_len
        footer = _root(bytes(data[footer_start : footer_start + footer_len]))
        messages = []
        legacy = False
        # Blocks: struct { offset: long; metaDataLength: int; (pad); bodyLength: long } = 24 bytes.
        for field in (2, 3):  # dictionaries, recordBatches
            vec = footer.vector_pos(field)
            if vec is None:
                continue
            p, count = vec
            for i in range(count):
                off, meta_len, body_len = struct.unpack_from("<qi4xq", footer.buf, p + 24 * i)
                msgs, leg = _stream_messages(data, off, off + meta_len)
                legacy = legacy or leg
                messages.extend(msgs)
        messages.sort(key=lambda m: m["offset"])
    else:
        messages, legacy = _stream_messages(data, 0, len(data))
    return {"format": fmt, "legacy_framing": legacy, "messages": messages}


def detect_compression(path):
    """'none' | 'lz4' | 'zstd' | 'mixed' over the record batches and dictionary batches of a file."""
    try:
        msgs = inspect_file(path)["messages"]
    except Exception:  # noqa: BLE001 - a file pyarrow read but we cannot walk: say so
        return None
    codecs = {m["compression"] for m in msgs if "compression" in m}
    if not codecs:
        return "none"
    if len(codecs) == 1:
        return codecs.pop()
    return "mixed"


# --------------------------------------------------------------------------------------------------
# Equality
# --------------------------------------------------------------------------------------------------


def _has_float(t):
    if pa.types.is_floating(t):
        return True
    if isinstance(t, pa.BaseExtensionType):
        return _has_float(t.storage_type)
    if pa.types.is_dictionary(t):
        return _has_float(t.value_type)
    if pa.types.is_run_end_encoded(t):
        return _has_float(t.value_type)
    return any(_has_float(t.field(i).type) for i in range(getattr(t, "num_fields", 0)))


def _short(v, limit=200):
    s = json.dumps(v)
    return s if len(s) <= limit else s[:limit] + "..."


def compare_tables(orig, cand):
    """None when equal, else a reason."""
    if not orig.schema.equals(cand.schema, check_metadata=True):
        if orig.schema.equals(cand.schema, check_metadata=False):
            return "schema metadata differs: expected {} got {} (fields: {} vs {})".format(
                _decode_meta(orig.schema.metadata),
                _decode_meta(cand.schema.metadata),
                [_decode_meta(f.metadata) for f in orig.schema],
                [_decode_meta(f.metadata) for f in cand.schema],
            )
        return f"schema differs:\n--- expected\n{orig.schema}\n--- got\n{cand.schema}"
    if orig.num_rows != cand.num_rows:
        return f"row count differs: expected {orig.num_rows} got {cand.num_rows}"
    try:
        if orig.combine_chunks().equals(cand.combine_chunks()):
            return None
    except pa.ArrowException:
        pass  # e.g. a type combine_chunks cannot concatenate: fall through to per-column checks
    canon_o = canon_c = None
    for j in range(orig.num_columns):
        a, b = orig.column(j), cand.column(j)
        try:
            if a.equals(b):
                continue
        except pa.ArrowException:
            pass
        if canon_o is None:
            canon_o = canon_batches(orig.to_batches(), orig.num_columns)
            canon_c = canon_batches(cand.to_batches(), cand.num_columns)
        ca, cb = canon_o[j], canon_c[j]
        if ca == cb and _has_float(a.type):
            continue  # pyarrow's equals treats NaN != NaN; the canonical values agree
        name = orig.schema.field(j).name
        for i, (x, y) in enumerate(zip(ca, cb)):
            if x != y:
                return f"column {j} ({name!r}) differs at row {i}: expected {_short(x)} got {_short(y)}"
        return f"column {j} ({name!r}) differs in its physical layout (e.g. dictionary encoding), not in values"
    return None


def equal_files(original, candidates):
    _, orig = read_table(original)
    results = []
    for path in candidates:
        try:
            _, cand = read_table(path)
            reason = compare_tables(orig, cand)
        except Exception as e:  # noqa: BLE001 - an unreadable candidate is a 'not equal' with a reason
            reason = f"pyarrow could not read the candidate: {type(e).__name__}: {e}"
        try:
            compression = detect_compression(path)
        except Exception:  # noqa: BLE001
            compression = None
        results.append({"path": path, "equal": reason is None, "reason": reason, "compression": compression})
    return {"results": results}


# --------------------------------------------------------------------------------------------------
# Writing test data
# --------------------------------------------------------------------------------------------------


def _rng(seed):
    return random.Random(seed)


def _with_nulls(rng, values, p=0.1):
    return [None if rng.random() < p else v for v in values]


def case_basic(rows=1000, batches=3):
    rng = _rng(1)
    schema = pa.schema([("i64", pa.int64()), ("f64", pa.float64()), ("utf8", pa.string())])
    out = []
    for b in range(batches):
        i64 = _with_nulls(rng, [rng.randint(-(2**63), 2**63 - 1) for _ in range(rows)])
        f64 = _with_nulls(rng, [rng.uniform(-1e6, 1e6) for _ in range(rows)])
        s = _with_nulls(rng, ["".join(rng.choice("abcdefé€😀") for _ in range(rng.randint(0, 12))) for _ in range(rows)])
        out.append(pa.record_batch([pa.array(i64, pa.int64()), pa.array(f64, pa.float64()), pa.array(s, pa.string())], schema=schema))
    return schema, [(b, None) for b in out]


def case_exotic():
    rng = _rng(2)
    fields = [
        ("list_view", pa.list_view(pa.int32())),
        ("large_list_view", pa.large_list_view(pa.int32())),
        ("ree", pa.run_end_encoded(pa.int32(), pa.string())),
        ("string_view", pa.string_view()),
        ("binary_view", pa.binary_view()),
    ]
    have_dec32 = hasattr(pa, "decimal32") and hasattr(pa, "decimal64")
    if have_dec32:
        fields += [("decimal32", pa.decimal32(7, 2)), ("decimal64", pa.decimal64(15, 3))]
    schema = pa.schema(fields)
    batches = []
    for b in range(2):
        n = 10 + b * 3
        # List views whose windows overlap and come out of order, over a shared pool of values.
        pool = pa.array([None if k % 9 == 4 else rng.randint(-100, 100) for k in range(12)], pa.int32())
        lv_offsets, lv_sizes, lv_mask = [], [], []
        for i in range(n):
            size = rng.randint(0, 4)
            lv_offsets.append(rng.randint(0, 12 - size))
            lv_sizes.append(size)
            lv_mask.append(i % 4 == 1)
        mask = pa.array(lv_mask, pa.bool_())
        run_ends, run_values = [], []
        while not run_ends or run_ends[-1] < n:
            run_values.append(None if rng.random() < 0.2 else rng.choice(["red", "green", "a much longer blue value"]))
            run_ends.append(min(n, (run_ends[-1] if run_ends else 0) + rng.randint(1, 4)))
        strs = []
        for i in range(n):
            if i % 5 == 3:
                strs.append(None)
            elif i % 2:
                strs.append("short" + str(i))  # <= 12 bytes: inline in the view
            else:
                strs.append("a long string view value number " + str(i) + "é")  # > 12 bytes
        bins = [None if s is None else s.encode("utf-8") + bytes([i, 0, 255]) for i, s in enumerate(strs)]
        cols = [
            pa.ListViewArray.from_arrays(pa.array(lv_offsets, pa.int32()), pa.array(lv_sizes, pa.int32()), pool, mask=mask),
            pa.LargeListViewArray.from_arrays(pa.array(lv_offsets, pa.int64()), pa.array(lv_sizes, pa.int64()), pool, mask=mask),
            pa.RunEndEncodedArray.from_arrays(pa.array(run_ends, pa.int32()), pa.array(run_values, pa.string())),
            pa.array(strs, pa.string_view()),
            pa.array(bins, pa.binary_view()),
        ]
        if have_dec32:
            import decimal

            d32 = [None if i % 6 == 2 else decimal.Decimal(rng.randint(-9999999, 9999999)).scaleb(-2) for i in range(n)]
            d64 = [None if i % 7 == 4 else decimal.Decimal(rng.randint(-(10**15) + 1, 10**15 - 1)).scaleb(-3) for i in range(n)]
            cols += [pa.array(d32, pa.decimal32(7, 2)), pa.array(d64, pa.decimal64(15, 3))]
        batches.append((pa.record_batch(cols, schema=schema), None))
    return schema, batches


def case_modern():
    """Newer types that apache-arrow JS *can* read but the golden files lack: views, decimal32/64, float16.

    Lets the TypeScript side cross-check canonFromArrow on them against pyarrow (two batches, nulls, view
    values both inline (<= 12 bytes) and out of line).
    """
    rng = _rng(3)
    schema = pa.schema(
        [
            ("string_view", pa.string_view()),
            ("binary_view", pa.binary_view()),
            ("decimal32", pa.decimal32(9, 3)),
            ("decimal64", pa.decimal64(18, 4)),
            ("float16", pa.float16()),
        ]
    )
    import decimal

    ctx = decimal.Context(prec=40)
    batches = []
    for b in range(2):
        n = 9 + 4 * b
        strs = [None if i % 4 == 2 else ("s%d" % i if i % 2 else "out of line string view %d é€" % (i * 1000 + b)) for i in range(n)]
        bins = [None if s is None else bytes(rng.randint(0, 255) for _ in range(rng.choice([0, 3, 12, 13, 40]))) for s in strs]
        d32 = [None if i % 5 == 1 else decimal.Decimal(rng.randint(-(10**9) + 1, 10**9 - 1)).scaleb(-3, ctx) for i in range(n)]
        d64 = [None if i % 5 == 3 else decimal.Decimal(rng.randint(-(10**18) + 1, 10**18 - 1)).scaleb(-4, ctx) for i in range(n)]
        specials = [float("nan"), float("inf"), float("-inf"), -0.0, 2.0**-24, 0.0, 65504.0]  # [5] is null
        f16 = [None if i % 6 == 5 else (specials[i] if i < len(specials) else rng.uniform(-100, 100)) for i in range(n)]
        cols = [
            pa.array(strs, pa.string_view()),
            pa.array(bins, pa.binary_view()),
            pa.array(d32, pa.decimal32(9, 3)),
            pa.array(d64, pa.decimal64(18, 4)),
            pa.array(f16, pa.float16()),
        ]
        batches.append((pa.record_batch(cols, schema=schema), None))
    return schema, batches


def case_dict_delta():
    t = pa.dictionary(pa.int32(), pa.string())
    schema = pa.schema([("dict", t), ("n", pa.int32())])

    def batch(indices, dictionary, ns):
        return pa.record_batch(
            [pa.DictionaryArray.from_arrays(pa.array(indices, pa.int32()), pa.array(dictionary, pa.string())), pa.array(ns, pa.int32())],
            schema=schema,
        )

    return schema, [
        (batch([0, 1, None, 1, 0], ["alpha", "beta"], [1, 2, 3, 4, 5]), None),
        # superset of the previous dictionary -> the writer sends a delta (emit_dictionary_deltas=True)
        (batch([2, 3, 0, None], ["alpha", "beta", "gamma", "delta"], [6, 7, 8, 9]), None),
        # not a superset -> the writer sends a replacement dictionary (allowed in the stream format only)
        (batch([0, 1, 1, None, 2], ["omega", "psi", "chi"], [10, 11, 12, 13, 14]), None),
    ]


def case_metadata():
    schema = pa.schema(
        [
            pa.field("id", pa.int32(), metadata={"field_key": "field value", "unit": "count"}),
            pa.field("label", pa.string(), nullable=True, metadata={"description": "a label é"}),
        ],
        metadata={"schema_key": "schema value", "created_by": "quiver judge", "empty": ""},
    )
    b1 = pa.record_batch([pa.array([1, 2, 3], pa.int32()), pa.array(["a", None, "c"])], schema=schema)
    b2 = pa.record_batch([pa.array([4, 5], pa.int32()), pa.array(["d", "e"])], schema=schema)
    return schema, [(b1, {"batch": "0", "note": "first batch"}), (b2, {"batch": "1"})]


def case_big_batches(rows, batches):
    schema = pa.schema([("i32", pa.int32())])
    batches = max(1, batches)
    per = rows // batches
    for b in range(batches):
        start = b * per
        end = rows if b == batches - 1 else start + per
        try:
            import numpy as np

            vals = ((np.arange(start, end, dtype=np.int64) * 2654435761) % (2**32) - 2**31).astype(np.int32)
            arr = pa.array(vals, pa.int32())
        except ImportError:
            arr = pa.array([((i * 2654435761) % (2**32)) - 2**31 for i in range(start, end)], pa.int32())
        yield pa.record_batch([arr], schema=schema), None


def write_case(path, fmt, compression, case, rows=None, batches=None):
    if fmt not in ("stream", "file", "feather"):
        raise JudgeError(f"write: unknown --format {fmt}")
    if compression not in ("none", "lz4", "zstd"):
        raise JudgeError(f"write: unknown --compression {compression}")
    codec = None if compression == "none" else compression
    opts = {"compression": codec}
    if case == "basic":
        schema, items = case_basic()
    elif case == "exotic":
        schema, items = case_exotic()
    elif case == "modern":
        schema, items = case_modern()
    elif case == "dict_delta":
        if fmt != "stream":
            raise JudgeError("write: dict_delta (deltas and replacement dictionaries) is only valid in the stream format")
        schema, items = case_dict_delta()
        opts["emit_dictionary_deltas"] = True
    elif case == "legacy":
        schema, items = case_basic(rows=100, batches=2)
        opts["use_legacy_format"] = True
    elif case == "metadata":
        schema, items = case_metadata()
    elif case == "big":
        if rows is None:
            raise JudgeError("write: case big needs --rows N (and --batches B)")
        schema = pa.schema([("i32", pa.int32())])
        items = case_big_batches(rows, batches or 1)
    else:
        raise JudgeError(f"write: unknown --case {case}")

    if fmt == "feather" and case not in ("legacy", "metadata"):
        # Feather V2 is the Arrow IPC file format; use pyarrow's own feather writer for authenticity.
        import pyarrow.feather as feather

        batch_list = [b for b, _ in items]
        table = pa.Table.from_batches(batch_list, schema=schema)
        chunk = max(1, max((b.num_rows for b in batch_list), default=1))
        feather.write_feather(table, path, compression=compression if codec else "uncompressed", chunksize=chunk)
        return {"path": path, "format": fmt, "compression": compression, "case": case}

    options = ipc.IpcWriteOptions(**opts)
    sink = pa.OSFile(path, "wb")
    try:
        writer = ipc.new_stream(sink, schema, options=options) if fmt == "stream" else ipc.new_file(sink, schema, options=options)
        with writer:
            for batch, meta in items:
                if meta is not None:
                    writer.write_batch(batch, custom_metadata=meta)
                else:
                    writer.write_batch(batch)
    finally:
        sink.close()
    return {"path": path, "format": fmt, "compression": compression, "case": case}


# --------------------------------------------------------------------------------------------------
# Command line and server
# --------------------------------------------------------------------------------------------------


class _QuietParser(argparse.ArgumentParser):
    def error(self, message):
        raise JudgeError(f"write: {message}")


def _write_parser():
    p = _QuietParser(prog="judge.py write", add_help=False)
    p.add_argument("path")
    p.add_argument("--format", default="stream")
    p.add_argument("--compression", default="none")
    p.add_argument("--case", required=True)
    p.add_argument("--rows", type=int, default=None)
    p.add_argument("--batches", type=int, default=None)
    return p


def run_command(cmd, args):
    if cmd == "canon":
        if not args:
            raise JudgeError("canon: needs at least one PATH")
        return [canon_file(p) for p in args]  # the command line prints a lone result unwrapped
    if cmd == "equal":
        if len(args) < 2:
            raise JudgeError("equal: needs ORIGINAL and at least one CANDIDATE")
        return equal_files(args[0], args[1:])
    if cmd == "write":
        ns = _write_parser().parse_args(args)
        return write_case(ns.path, ns.format, ns.compression, ns.case, ns.rows, ns.batches)
    if cmd == "inspect":
        if len(args) != 1:
            raise JudgeError("inspect: needs one PATH")
        return inspect_file(args[0])
    if cmd == "ping":
        return {"pyarrow": pa.__version__}
    raise JudgeError(f"unknown command {cmd!r} (canon, equal, write, inspect, serve)")


def serve(stdin, stdout):
    for line in stdin:
        line = line.strip()
        if not line:
            continue
        rid = None
        try:
            req = json.loads(line)
            rid = req.get("id")
            result = run_command(req["cmd"], [str(a) for a in req.get("args", [])])
            reply = {"id": rid, "ok": True, "result": result}
        except JudgeError as e:
            reply = {"id": rid, "ok": False, "error": str(e)}
        except Exception as e:  # noqa: BLE001 - reported to the client, the server keeps going
            reply = {"id": rid, "ok": False, "error": f"{type(e).__name__}: {e}\n{traceback.format_exc()}"}
        stdout.write(json.dumps(reply, allow_nan=False) + "\n")
        stdout.flush()


def main(argv):
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__, file=sys.stderr)
        return 1 if not argv else 0
    cmd, args = argv[0], argv[1:]
    if cmd == "serve":
        serve(sys.stdin, sys.stdout)
        return 0
    try:
        result = run_command(cmd, args)
    except JudgeError as e:
        print(f"judge: {e}", file=sys.stderr)
        return 1
    except Exception as e:  # noqa: BLE001
        print(f"judge: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    if cmd == "canon" and len(args) == 1:
        result = result[0]
    json.dump(result, sys.stdout, allow_nan=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
