"""A plain pyarrow peer for Quiver's transport tests: no Quiver code, only the standard library's
socket module and pyarrow, exactly as a user's Python program would be written.

  peer.py produce URL [--case basic|dict_delta|...] [--compression none|lz4|zstd] [--repeat N]
      connect, then pa.ipc.new_stream(sock.makefile('wb'), schema) and write the case's batches
  peer.py consume URL [--count N]
      connect, then pa.ipc.open_stream(sock.makefile('rb')) and print one JSON line:
      {"schema": [...], "batches": n, "rows": n, "columns": canonical values (see judge.py)}

URL is unix:///path or tcp://host:port. Exit 0 on success; errors go to stderr with exit 1.
"""
import argparse
import json
import socket
import sys
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.ipc as ipc

import judge


def connect(url):
    u = urlparse(url)
    if u.scheme == "unix":
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(u.path)
    elif u.scheme == "tcp":
        s = socket.create_connection((u.hostname, u.port))
    else:
        raise SystemExit(f"peer.py: unsupported URL {url}")
    return s


def case_items(name):
    cases = {"basic": judge.case_basic, "dict_delta": judge.case_dict_delta, "metadata": judge.case_metadata, "exotic": judge.case_exotic}
    return cases[name]()


def produce(args):
    schema, items = case_items(args.case)
    codec = None if args.compression == "none" else args.compression
    options = ipc.IpcWriteOptions(compression=codec, emit_dictionary_deltas=args.case == "dict_delta")
    s = connect(args.url)
    with s, s.makefile("wb") as f:
        with ipc.new_stream(f, schema, options=options) as w:
            for _ in range(args.repeat):
                for batch, meta in items:
                    w.write_batch(batch, custom_metadata=meta) if meta else w.write_batch(batch)
    print(json.dumps({"sent": len(items) * args.repeat}), flush=True)


def consume(args):
    s = connect(args.url)
    batches = []
    with s, s.makefile("rb") as f:
        reader = ipc.open_stream(f)
        print(json.dumps({"ready": True}), flush=True) if args.announce else None
        for batch in reader:
            batches.append(batch)
            if args.count and len(batches) >= args.count:
                break
        schema = reader.schema
    out = {
        "schema": judge.schema_json(schema),
        "batches": len(batches),
        "rows": sum(b.num_rows for b in batches),
        "columns": judge.canon_batches(batches, len(schema)),
    }
    print(json.dumps(out), flush=True)


def main(argv):
    p = argparse.ArgumentParser(prog="peer.py")
    sub = p.add_subparsers(dest="cmd", required=True)
    pr = sub.add_parser("produce")
    pr.add_argument("url")
    pr.add_argument("--case", default="basic")
    pr.add_argument("--compression", default="none", choices=["none", "lz4", "zstd"])
    pr.add_argument("--repeat", type=int, default=1)
    co = sub.add_parser("consume")
    co.add_argument("url")
    co.add_argument("--count", type=int, default=0)
    co.add_argument("--announce", action="store_true")
    args = p.parse_args(argv)
    try:
        produce(args) if args.cmd == "produce" else consume(args)
    except Exception as e:  # noqa: BLE001 - one line for the test to show
        print(f"peer.py: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
