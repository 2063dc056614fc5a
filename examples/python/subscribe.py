"""A plain pyarrow subscriber: no Quiver code. Connects to a Quiver publisher's Unix socket and
reads its stream exactly as pyarrow's documentation reads one; a reader that says nothing gets
the publisher's `default` topic. Prints one JSON line: batch numbers (from the seq column), rows,
bytes of column data and the sum of `value`.

    python subscribe.py /path/to.sock ROWS_PER_BATCH
"""
import json
import socket
import sys

import pyarrow as pa
import pyarrow.compute as pc

path, rows = sys.argv[1], int(sys.argv[2])


def column_bytes(col):
    # Dictionary indices but not the dictionary, which travels once per stream.
    arr = col.indices if pa.types.is_dictionary(col.type) else col
    return sum(b.size for b in arr.buffers() if b is not None)


indices, total_rows, total_bytes, total, intact = [], 0, 0, 0.0, True
sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
sock.connect(path)
with sock, sock.makefile("rb") as source:
    reader = pa.ipc.open_stream(source)
    for batch in reader:
        seq = batch.column("seq").to_pylist()
        intact = intact and seq[0] % rows == 0 and seq == list(range(seq[0], seq[0] + rows))
        indices.append(seq[0] // rows)
        total_rows += batch.num_rows
        total_bytes += sum(column_bytes(c) for c in batch.columns)
        total += pc.sum(batch.column("value")).as_py()
    schema = [f.name for f in reader.schema]

print(json.dumps({"indices": indices, "rows": total_rows, "bytes": total_bytes, "sum": total, "intact": intact, "schema": schema}), flush=True)
