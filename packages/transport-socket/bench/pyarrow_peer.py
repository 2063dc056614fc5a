"""The pyarrow peer of the socket bench: pyarrow to pyarrow over a Unix socket, the way a Python
user writes it (pa.ipc.new_stream on sock.makefile('wb'), pa.ipc.open_stream on
sock.makefile('rb')). Two of these run, one producer and one consumer, each a process of its own.

Commands arrive as JSON lines on stdin and are answered as JSON lines on stdout, in the shape of
protocol.ts: {"op": "load", "id", "rows", "file"}, {"op": "consume", "id", "path", "warm",
"count"}, {"op": "produce", "id", "url" (the socket path), "rows", "total"}, {"op": "exit"}.
Replies: {"id", "ready": path} once a consumer listens, {"id", "done": {...}}, {"id", "error"}.
"""
import json
import os
import socket
import sys
import time
import traceback

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

batches = {}  # rows -> the one record batch of the bench table of that size


def reply(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def load(cmd):
    """Reads the table Node generated (packages/core/bench/data.ts) so both sides send the same data."""
    with pa.OSFile(cmd["file"], "rb") as f:
        batch = pa.ipc.open_stream(f).read_next_batch()
    batches[cmd["rows"]] = batch
    # One batch message as pyarrow writes it: a two-batch stream minus a one-batch stream.
    size = []
    for n in (1, 2):
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, batch.schema) as w:
            for _ in range(n):
                w.write_batch(batch)
        size.append(sink.getvalue().size)
    return {"batchBytes": size[1] - size[0], "version": pa.__version__}


def touch(batch):
    """As protocol.ts touch(): every int64 and float64 value read, string lengths from the offsets."""
    i64, f64, s = batch.column(0), batch.column(1), batch.column(2)
    offsets = memoryview(s.buffers()[1]).cast("i")
    return (
        pc.sum(i64).as_py() or 0,
        pc.sum(f64).as_py() or 0.0,
        offsets[s.offset + len(s)] - offsets[s.offset] + s.null_count,
    )


def touch_columns(batch):
    """As core's bench data touchColumns(): each column's length, null count, first and last value (utf8: offset)."""
    total = 0.0
    for col in batch.columns:
        n, o = len(col), col.offset
        total += n + col.null_count
        if n == 0:
            continue
        if pa.types.is_string(col.type):
            v = np.frombuffer(col.buffers()[1], dtype=np.int32)
            total += float(v[o]) + float(v[o + n])
        else:
            v = np.frombuffer(col.buffers()[1], dtype=np.int64 if pa.types.is_int64(col.type) else np.float64)
            total += float(v[o]) + float(v[o + n - 1])
    return total


def consume(cmd):
    path = cmd["path"]
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    reply({"id": cmd["id"], "ready": path})
    conn, _ = srv.accept()
    srv.close()
    os.unlink(path)
    warm = cmd["warm"]
    columns = cmd.get("touch") == "columns"
    n = rows = 0
    int_sum = 0
    t0 = time.perf_counter_ns()
    c0 = time.process_time_ns()
    with conn, conn.makefile("rb") as f:
        for batch in pa.ipc.open_stream(f):
            if columns:
                int_sum += touch_columns(batch)
            else:
                int_sum += touch(batch)[0]
            rows += batch.num_rows
            n += 1
            if n == warm:
                t0 = time.perf_counter_ns()
                c0 = time.process_time_ns()
        ns = time.perf_counter_ns() - t0
        cpu_ns = time.process_time_ns() - c0
    checksum = int_sum if columns else str(int_sum)
    return {"batches": n, "rows": rows, "ns": ns, "cpuNs": cpu_ns, "timedBatches": n - warm, "timedBytes": 0, "checksum": checksum, "end": "eos"}


def produce(cmd):
    batch = batches[cmd["rows"]]
    c0 = time.process_time_ns()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(cmd["url"])
    with s, s.makefile("wb") as f:
        with pa.ipc.new_stream(f, batch.schema) as w:
            for _ in range(cmd["total"]):
                w.write_batch(batch)
        f.flush()
        cpu_ns = time.process_time_ns() - c0
        s.shutdown(socket.SHUT_WR)
        s.recv(1)  # wait for the consumer to close: it has read everything
    return {"cpuNs": cpu_ns}


OPS = {"load": load, "consume": consume, "produce": produce}

for line in sys.stdin:
    cmd = json.loads(line)
    if cmd["op"] == "exit":
        break
    try:
        reply({"id": cmd["id"], "done": OPS[cmd["op"]](cmd)})
    except Exception:
        reply({"id": cmd["id"], "error": traceback.format_exc()})
