"""A soak subscriber with no Quiver code: a plain socket and pyarrow, as a user's program would be.

  soak_sub.py URL SLOW_MS

Reads the stream (unix:///path or tcp://host:port), checks each batch's sequence number and rows
as the Node subscribers do (soak/common.ts SeqBook), sleeps SLOW_MS after each batch, and prints
one JSON line: received, first, last, gaps, duplicated, reordered, corrupt.
"""
import json
import socket
import sys
import time
from urllib.parse import urlparse

import pyarrow.ipc as ipc


def connect(url):
    u = urlparse(url)
    if u.scheme == "unix":
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(u.path)
    else:
        s = socket.create_connection((u.hostname, u.port))
    return s


def main(url, slow_ms):
    r = {"received": 0, "first": -1, "last": -1, "gaps": 0, "duplicated": 0, "reordered": 0, "corrupt": 0}
    seen = bytearray(1 << 16)  # one byte per sequence number: the books stay small
    prev = -1
    s = connect(url)
    with s, s.makefile("rb") as f:
        for batch in ipc.open_stream(f):
            r["received"] += 1
            n = batch.num_rows
            seq_col, val_col = batch.column(0), batch.column(1)
            seq = seq_col[0].as_py() if n else -1
            if n == 0 or seq < 0 or seq_col[n - 1].as_py() != seq or val_col[n - 1].as_py() != seq + (n - 1) / 2:
                r["corrupt"] += 1
                continue
            if seq >= len(seen):
                seen.extend(bytes(max(len(seen), seq + 1 - len(seen))))
            if seen[seq]:
                r["duplicated"] += 1
            elif seq < prev:
                r["reordered"] += 1
            elif prev >= 0:
                r["gaps"] += seq - prev - 1
            seen[seq] = 1
            if r["first"] < 0:
                r["first"] = seq
            prev = max(prev, seq)
            r["last"] = prev
            if slow_ms > 0:
                time.sleep(slow_ms / 1000)
    print(json.dumps(r), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]))
