"""Fast pytest tests of judge.py: canonical values per type family, framing inspection, equality, writing.

Run: .venv/bin/python -m pytest packages/testkit/python
"""

import ctypes
import decimal
import io
import json
import os
import sys

import pyarrow as pa
import pyarrow.ipc as ipc
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import judge  # noqa: E402

canon = judge.canon_array


def roundtrip_json(v):
    """What the TypeScript side sees: the value after JSON (NaN etc. must already be strings)."""
    return json.loads(json.dumps(v, allow_nan=False))


def write_stream(path, table, **opts):
    with ipc.new_stream(str(path), table.schema, options=ipc.IpcWriteOptions(**opts)) as w:
        w.write_table(table)


# ---------------------------------------------------------------------------------------------- primitives


def test_null_and_bool():
    assert canon(pa.array([None, None], pa.null())) == [None, None]
    assert canon(pa.array([True, None, False])) == [True, None, False]
    assert canon(pa.array([True, False, True, None]).slice(1)) == [False, True, None]


@pytest.mark.parametrize(
    "typ,lo,hi",
    [
        (pa.int8(), -(2**7), 2**7 - 1),
        (pa.int16(), -(2**15), 2**15 - 1),
        (pa.int32(), -(2**31), 2**31 - 1),
        (pa.int64(), -(2**63), 2**63 - 1),
        (pa.uint8(), 0, 2**8 - 1),
        (pa.uint16(), 0, 2**16 - 1),
        (pa.uint32(), 0, 2**32 - 1),
        (pa.uint64(), 0, 2**64 - 1),
    ],
)
def test_integers_are_decimal_strings(typ, lo, hi):
    assert canon(pa.array([lo, None, hi, 0], typ)) == [str(lo), None, str(hi), "0"]


def test_floats():
    vals = [1.5, None, float("nan"), float("inf"), float("-inf"), -0.0, 0.1]
    got = roundtrip_json(canon(pa.array(vals, pa.float64())))
    assert got == [1.5, None, "NaN", "Infinity", "-Infinity", 0, 0.1]
    f32 = canon(pa.array([0.1, float("nan")], pa.float32()))
    assert f32 == [0.10000000149011612, "NaN"]  # the float32 value widened exactly, as JS Float32Array gives
    f16 = canon(pa.array([1.5, None, float("-inf")], pa.float16()))
    assert f16 == [1.5, None, "-Infinity"]


def test_strings_and_binaries():
    for typ in (pa.string(), pa.large_string(), pa.string_view()):
        assert canon(pa.array(["a", None, "é€😀", "", "x" * 40], typ)) == ["a", None, "é€😀", "", "x" * 40]
    for typ in (pa.binary(), pa.large_binary(), pa.binary_view()):
        assert canon(pa.array([b"\x00\xffA", None, b"", b"\x01" * 20], typ)) == ["00ff41", None, "", "01" * 20]
    assert canon(pa.array([b"\x0a\x0b", None], pa.binary(2))) == ["0a0b", None]
    assert canon(pa.array([b"ab", b"cd", b"ef"], pa.binary(2)).slice(1)) == ["6364", "6566"]


@pytest.mark.parametrize(
    "typ",
    [pa.decimal32(7, 2), pa.decimal64(15, 3), pa.decimal128(38, 5), pa.decimal256(76, 10)],
)
def test_decimals_are_unscaled_integers(typ):
    big = 10 ** typ.precision - 1
    ctx = decimal.Context(prec=100)
    vals = [decimal.Decimal(big).scaleb(-typ.scale, ctx), None, decimal.Decimal(-big).scaleb(-typ.scale, ctx),
            decimal.Decimal("-1.5")]
    arr = pa.array(vals, typ)
    expected = [str(big), None, str(-big), str(-15 * 10 ** (typ.scale - 1))]
    assert canon(arr) == expected
    assert canon(arr.slice(2)) == expected[2:]


def test_temporal_types_give_stored_integers():
    assert canon(pa.array([0, None, -1, 19000], pa.date32())) == ["0", None, "-1", "19000"]
    assert canon(pa.array([86400000, None], pa.date64())) == ["86400000", None]
    assert canon(pa.array([1, None], pa.time32("s"))) == ["1", None]
    assert canon(pa.array([1234], pa.time32("ms"))) == ["1234"]
    assert canon(pa.array([86399999999], pa.time64("us"))) == ["86399999999"]
    assert canon(pa.array([86399999999999], pa.time64("ns"))) == ["86399999999999"]
    for unit in ("s", "ms", "us", "ns"):
        big = 2**63 - 1
        assert canon(pa.array([big, None, -big], pa.timestamp(unit, tz="UTC"))) == [str(big), None, str(-big)]
        assert canon(pa.array([-(2**63), 5], pa.timestamp(unit))) == [str(-(2**63)), "5"]
        assert canon(pa.array([-(2**63), None, 7], pa.duration(unit))) == [str(-(2**63)), None, "7"]
    assert canon(pa.array([5, 6, 7], pa.timestamp("ns")).slice(1, 1)) == ["6"]


def test_month_day_nano_interval():
    arr = pa.array([pa.MonthDayNano([1, -2, 2**62]), None], pa.month_day_nano_interval())
    assert canon(arr) == [["1", "-2", str(2**62)], None]


def _type_from_c_format(fmt):
    """A pyarrow DataType from a C data interface format string (pyarrow has no factory for the
    month / day_time interval types)."""

    class ArrowSchema(ctypes.Structure):
        pass

    release_t = ctypes.CFUNCTYPE(None, ctypes.POINTER(ArrowSchema))
    ArrowSchema._fields_ = [
        ("format", ctypes.c_char_p), ("name", ctypes.c_char_p), ("metadata", ctypes.c_char_p),
        ("flags", ctypes.c_int64), ("n_children", ctypes.c_int64), ("children", ctypes.c_void_p),
        ("dictionary", ctypes.c_void_p), ("release", release_t), ("private_data", ctypes.c_void_p),
    ]

    def release(p):
        p.contents.release = release_t()

    keep = release_t(release)
    schema = ArrowSchema(fmt, b"", None, 2, 0, None, None, keep, None)
    return pa.DataType._import_from_c(ctypes.addressof(schema))


def _batch_as(values_arr, target_type):
    """A one-column batch of target_type over values_arr's buffers (same physical layout)."""
    src = pa.record_batch([values_arr], names=["x"])
    schema = pa.schema([pa.field("x", target_type)])
    return pa.record_batch(judge._CArrayWithSchema(src, schema))


def test_month_and_day_time_intervals():
    months = _batch_as(pa.array([12, None, -3], pa.int32()), _type_from_c_format(b"tiM"))
    assert str(months.schema.field(0).type) == "month_interval"
    assert judge.canon_batches([months], 1) == [["12", None, "-3"]]
    # day_time: int32 days then int32 milliseconds, little-endian, in one 8-byte slot
    packed = [(-5 & 0xFFFFFFFF) | (1000 << 32), None, 7 | ((-86400000 & 0xFFFFFFFF) << 32)]
    packed = [None if p is None else (p - 2**64 if p >= 2**63 else p) for p in packed]
    day_time = _batch_as(pa.array(packed, pa.int64()), _type_from_c_format(b"tiD"))
    assert str(day_time.schema.field(0).type) == "day_time_interval"
    assert judge.canon_batches([day_time], 1) == [[["-5", "1000"], None, ["7", "-86400000"]]]
    # nested inside a list, too
    lst = pa.ListArray.from_arrays(pa.array([0, 1, 3], pa.int32()), pa.array([1, 2, None], pa.int64()))
    nested = _batch_as(lst, pa.list_(_type_from_c_format(b"tiD")))
    assert judge.canon_batches([nested], 1) == [[[["1", "0"]], [["2", "0"], None]]]


# ---------------------------------------------------------------------------------------------- nested


def test_lists():
    for typ in (pa.list_(pa.int32()), pa.large_list(pa.int32())):
        arr = pa.array([[1, None], None, [], [3]], typ)
        assert canon(arr) == [["1", None], None, [], ["3"]]
        assert canon(arr.slice(2)) == [[], ["3"]]
    fsl = pa.array([[1, 2], None, [3, None]], pa.list_(pa.int8(), 2))
    assert canon(fsl) == [["1", "2"], None, ["3", None]]
    assert canon(fsl.slice(1)) == [None, ["3", None]]


def test_list_views_out_of_order_and_overlapping():
    values = pa.array([10, 11, 12, 13], pa.int16())
    for cls, it in ((pa.ListViewArray, pa.int32()), (pa.LargeListViewArray, pa.int64())):
        arr = cls.from_arrays(pa.array([2, 0, 1, 0], it), pa.array([2, 3, 0, 1], it), values,
                              mask=pa.array([False, False, True, False]))
        assert canon(arr) == [["12", "13"], ["10", "11", "12"], None, ["10"]]
        assert canon(arr.slice(1, 2)) == [["10", "11", "12"], None]


def test_struct_with_repeated_names_and_slices():
    arr = pa.StructArray.from_arrays([pa.array([1, 2, 3]), pa.array(["a", "b", None])], names=["x", "x"],
                                     mask=pa.array([False, True, False]))
    assert canon(arr) == [["1", "a"], None, ["3", None]]
    assert canon(arr.slice(1)) == [None, ["3", None]]


def test_map():
    arr = pa.array([[("a", 1), ("b", None)], None, []], pa.map_(pa.string(), pa.int32()))
    assert canon(arr) == [[["a", "1"], ["b", None]], None, []]
    assert canon(arr.slice(1)) == [None, []]


def test_unions():
    sparse = pa.UnionArray.from_sparse(pa.array([5, 7, 5], pa.int8()),
                                       [pa.array([1, 2, None]), pa.array(["a", "b", "c"])],
                                       field_names=["i", "s"], type_codes=[5, 7])
    assert canon(sparse) == [[5, "1"], [7, "b"], [5, None]]
    assert canon(sparse.slice(1)) == [[7, "b"], [5, None]]
    dense = pa.UnionArray.from_dense(pa.array([3, 9, 3], pa.int8()), pa.array([0, 0, 1], pa.int32()),
                                     [pa.array([1.5, None]), pa.array([b"\x01"])],
                                     field_names=["f", "b"], type_codes=[3, 9])
    assert canon(dense) == [[3, 1.5], [9, "01"], [3, None]]
    assert canon(dense.slice(1)) == [[9, "01"], [3, None]]


def test_dictionary_decodes():
    arr = pa.DictionaryArray.from_arrays(pa.array([1, None, 0, 1], pa.int8()), pa.array(["x", "y"]))
    assert canon(arr) == ["y", None, "x", "y"]
    assert canon(arr.slice(2)) == ["x", "y"]
    nested = pa.DictionaryArray.from_arrays(pa.array([0, 0], pa.uint32()), pa.array([[1, 2]], pa.list_(pa.int64())))
    assert canon(nested) == [["1", "2"], ["1", "2"]]


def test_run_end_encoded_is_logical():
    arr = pa.RunEndEncodedArray.from_arrays(pa.array([2, 3, 6], pa.int32()), pa.array(["a", None, "b"]))
    assert canon(arr) == ["a", "a", None, "b", "b", "b"]
    assert canon(arr.slice(1, 3)) == ["a", None, "b"]


def test_extension_gives_storage():
    class Uuid(pa.ExtensionType):
        def __init__(self):
            super().__init__(pa.binary(2), "test.uuid2")

        def __arrow_ext_serialize__(self):
            return b""

        @classmethod
        def __arrow_ext_deserialize__(cls, storage_type, serialized):
            return cls()

    arr = pa.ExtensionArray.from_storage(Uuid(), pa.array([b"ab", None], pa.binary(2)))
    assert canon(arr) == ["6162", None]


def test_empty_arrays_of_every_kind():
    for typ in (pa.int32(), pa.list_(pa.int8()), pa.run_end_encoded(pa.int32(), pa.int8()), pa.month_day_nano_interval()):
        assert canon(pa.array([], typ)) == []
    empty8 = pa.array([], pa.int8())
    assert canon(pa.UnionArray.from_sparse(empty8, [empty8])) == []
    assert canon(pa.UnionArray.from_dense(empty8, pa.array([], pa.int32()), [empty8])) == []


# ---------------------------------------------------------------------------------------------- files


def test_canon_file_detects_format_and_metadata(tmp_path):
    p = tmp_path / "m.arrow"
    judge.write_case(str(p), "file", "none", "metadata")
    c = judge.canon_file(str(p))
    assert c["format"] == "file"
    assert c["metadata"]["schema_key"] == "schema value"
    assert c["field_metadata"][0] == {"field_key": "field value", "unit": "count"}
    assert c["batch_metadata"] == [{"batch": "0", "note": "first batch"}, {"batch": "1"}]
    assert c["batches"] == 2 and c["rows"] == 5
    assert c["columns"] == [["1", "2", "3", "4", "5"], ["a", None, "c", "d", "e"]]
    assert c["schema"] == [{"name": "id", "type": "int32", "nullable": True}, {"name": "label", "type": "string", "nullable": True}]
    s = tmp_path / "m.stream"
    judge.write_case(str(s), "stream", "none", "metadata")
    assert judge.canon_file(str(s))["format"] == "stream"


@pytest.mark.parametrize("fmt", ["stream", "file", "feather"])
@pytest.mark.parametrize("codec", ["none", "lz4", "zstd"])
def test_written_compression_is_detected(tmp_path, fmt, codec):
    p = tmp_path / f"b.{fmt}"
    judge.write_case(str(p), fmt, codec, "basic")
    assert judge.detect_compression(str(p)) == codec
    c = judge.canon_file(str(p))
    assert c["rows"] == 3000 and c["batches"] == 3
    assert c["schema"][0]["type"] == "int64"


def test_dict_delta_sends_a_delta_then_a_replacement(tmp_path):
    p = tmp_path / "d.stream"
    judge.write_case(str(p), "stream", "none", "dict_delta")
    dicts = [m for m in judge.inspect_file(str(p))["messages"] if m["type"] == "dictionary"]
    assert [d["is_delta"] for d in dicts] == [False, True, False]
    c = judge.canon_file(str(p))
    assert c["columns"][0] == ["alpha", "beta", None, "beta", "alpha", "gamma", "delta", "alpha", None,
                               "omega", "psi", "psi", None, "chi"]
    with pytest.raises(judge.JudgeError):
        judge.write_case(str(tmp_path / "d.arrow"), "file", "none", "dict_delta")


def test_legacy_framing(tmp_path):
    p = tmp_path / "l.stream"
    judge.write_case(str(p), "stream", "none", "legacy")
    assert judge.inspect_file(str(p))["legacy_framing"] is True
    q = tmp_path / "n.stream"
    judge.write_case(str(q), "stream", "none", "basic")
    assert judge.inspect_file(str(q))["legacy_framing"] is False
    assert judge.canon_file(str(p))["rows"] == 200


def test_exotic_and_big(tmp_path):
    p = tmp_path / "e.stream"
    judge.write_case(str(p), "stream", "zstd", "exotic")
    c = judge.canon_file(str(p))
    types = [f["type"] for f in c["schema"]]
    assert types[:5] == ["list_view<item: int32>", "large_list_view<item: int32>",
                         "run_end_encoded<run_ends: int32, values: string>", "string_view", "binary_view"]
    assert c["batches"] == 2
    assert c["columns"][0] == c["columns"][1]  # the same views, 32- and 64-bit
    assert any(v is None for v in c["columns"][3]) and any(v and len(v) > 12 for v in c["columns"][3])
    m = tmp_path / "m.arrow"
    judge.write_case(str(m), "file", "lz4", "modern")
    c = judge.canon_file(str(m))
    assert [f["type"] for f in c["schema"]] == ["string_view", "binary_view", "decimal32(9, 3)", "decimal64(18, 4)", "halffloat"]
    assert c["columns"][4][:7] == ["NaN", "Infinity", "-Infinity", 0, 2.0**-24, None, 65504.0]
    b = tmp_path / "big.arrow"
    judge.write_case(str(b), "file", "none", "big", rows=1003, batches=4)
    c = judge.canon_file(str(b))
    assert c["rows"] == 1003 and c["batches"] == 4


def test_equal(tmp_path):
    nan = pa.table({"f": pa.array([1.0, float("nan"), None])}, metadata={"k": "v"})
    a, b = tmp_path / "a.stream", tmp_path / "b.arrow"
    write_stream(a, nan)
    with ipc.new_file(str(b), nan.schema, options=ipc.IpcWriteOptions(compression="lz4")) as w:
        for batch in nan.to_batches(max_chunksize=1):  # different chunking must not matter
            w.write_batch(batch)
    other_meta = tmp_path / "c.stream"
    write_stream(other_meta, nan.replace_schema_metadata({"k": "w"}))
    other_vals = tmp_path / "d.stream"
    write_stream(other_vals, pa.table({"f": pa.array([1.0, 2.0, None])}, metadata={"k": "v"}))
    res = judge.equal_files(str(a), [str(b), str(other_meta), str(other_vals), str(tmp_path / "missing")])["results"]
    assert res[0] == {"path": str(b), "equal": True, "reason": None, "compression": "lz4"}
    assert res[1]["equal"] is False and "metadata" in res[1]["reason"]
    assert res[2]["equal"] is False and "row 1" in res[2]["reason"]
    assert res[3]["equal"] is False and res[3]["reason"]


def test_serve_protocol(tmp_path):
    p = tmp_path / "m.stream"
    judge.write_case(str(p), "stream", "none", "metadata")
    lines = "\n".join([
        json.dumps({"id": 1, "cmd": "canon", "args": [str(p)]}),
        json.dumps({"id": 2, "cmd": "nope"}),
        json.dumps({"id": 3, "cmd": "canon", "args": [str(tmp_path / "missing")]}),
        json.dumps({"id": 4, "cmd": "write", "args": [str(tmp_path / "w"), "--case", "basic", "--format", "bad"]}),
    ]) + "\n"
    out = io.StringIO()
    judge.serve(io.StringIO(lines), out)
    replies = [json.loads(x) for x in out.getvalue().splitlines()]
    assert [r["id"] for r in replies] == [1, 2, 3, 4]
    assert replies[0]["ok"] and replies[0]["result"][0]["rows"] == 5
    assert not replies[1]["ok"] and "unknown command" in replies[1]["error"]
    assert not replies[2]["ok"] and "no such file" in replies[2]["error"]
    assert not replies[3]["ok"] and "--format" in replies[3]["error"]
