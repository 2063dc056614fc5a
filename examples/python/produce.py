"""A plain pyarrow producer: no Quiver code. Streams batches of (sensor, value) over a Unix socket
exactly as pyarrow's documentation writes a stream, to whatever listens there.

    python produce.py /path/to.sock BATCHES ROWS
"""
import socket
import sys

import pyarrow as pa

path, batches, rows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
schema = pa.schema([("sensor", pa.dictionary(pa.int32(), pa.string())), ("value", pa.float64())])
sensors = pa.array(["north", "south", "east", "west"])

sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
sock.connect(path)
with sock, sock.makefile("wb") as sink:
    with pa.ipc.new_stream(sink, schema, options=pa.ipc.IpcWriteOptions(compression="zstd")) as writer:
        for b in range(batches):
            idx = pa.array([(b + i) % 4 for i in range(rows)], pa.int32())
            values = pa.array([float(b * rows + i) for i in range(rows)], pa.float64())
            writer.write_batch(pa.record_batch([pa.DictionaryArray.from_arrays(idx, sensors), values], schema=schema))
