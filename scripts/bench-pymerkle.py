#!/usr/bin/env python3
"""Durable append + inclusion proofs with pymerkle's SQLite tree.

The peer half of the comparison with gatelog's RocksDB store
(`gatelog-durable-bench`, bench/src/durable.rs), doing the same work in the
same order: ENTRIES entries of ENTRY_BYTES bytes (entry i is i as 8
big-endian bytes, repeated), appended in commits of BATCH entries, each
commit durable before the next starts; then PROOFS inclusion proofs at the
final size, at the same indices, verified against the root. Prints one JSON
report; its `root` must equal gatelog's (both trees are RFC 6962).

A commit of one entry is `append_entry` (one SQLite transaction); a larger
one is `append_entries` (one transaction for the batch). SQLite's defaults
are kept (rollback journal, synchronous=FULL): that is what makes a commit
durable.

Needs pymerkle (`pip install pymerkle`); scripts/bench-micro.sh runs it in
a virtual environment.

  bench-pymerkle.py --dir DIR [--entries N] [--batch B] [--entry-bytes L]
                    [--proofs M]
"""

import argparse
import json
import os
import sys
import time

import pymerkle
from pymerkle import SqliteTree, verify_inclusion

GOLDEN = 0x9E3779B97F4A7C15
MASK = (1 << 64) - 1


def entry(i, length):
    return i.to_bytes(8, "big") * (length // 8)


def proof_indices(n, count):
    """The same sequence as gatelog_bench::run::spread (0-based)."""
    return [(((j * GOLDEN) & MASK) * n) >> 64 for j in range(1, count + 1)]


def disk_bytes(folder):
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            total += os.path.getsize(os.path.join(root, name))
    return total


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True, help="an empty (or missing) folder")
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--entry-bytes", type=int, default=600)
    parser.add_argument("--proofs", type=int, default=1000)
    args = parser.parse_args()
    if args.entries <= 0 or args.batch <= 0 or args.entry_bytes <= 0 or args.entry_bytes % 8:
        parser.error("--entries and --batch must be positive, --entry-bytes a positive multiple of 8")

    os.makedirs(args.dir, exist_ok=True)
    dbfile = os.path.join(args.dir, "pymerkle.db")
    if os.path.exists(dbfile):
        sys.exit(f"error: {dbfile} exists; the run needs an empty folder")
    entries = [entry(i, args.entry_bytes) for i in range(args.entries)]

    tree = SqliteTree(dbfile)
    started = time.perf_counter()
    commits = 0
    if args.batch == 1:
        for data in entries:
            tree.append_entry(data)
            commits += 1
    else:
        for start in range(0, args.entries, args.batch):
            tree.append_entries(entries[start:start + args.batch])
            commits += 1
    append_seconds = time.perf_counter() - started

    size = tree.get_size()
    if size != args.entries:
        sys.exit(f"error: the tree holds {size} entries, not {args.entries}")
    root = tree.get_root()

    indices = proof_indices(args.entries, args.proofs)
    started = time.perf_counter()
    first_seconds = None
    proofs = []
    for i in indices:
        proofs.append(tree.prove_inclusion(i + 1, size))  # pymerkle counts from 1
        if first_seconds is None:
            first_seconds = time.perf_counter() - started
    build_seconds = time.perf_counter() - started

    hashes = [tree.hash_buff(entries[i]) for i in indices]
    started = time.perf_counter()
    for proof, base in zip(proofs, hashes):
        verify_inclusion(base, root, proof)  # raises InvalidProof
    verify_seconds = time.perf_counter() - started
    tree.close()

    print(json.dumps({
        "impl": "pymerkle",
        "version": pymerkle.__version__,
        "store": "SQLite (pymerkle SqliteTree, default journal, synchronous=FULL)",
        "entries": args.entries,
        "batch": args.batch,
        "commits": commits,
        "entry_bytes": args.entry_bytes,
        "append_seconds": append_seconds,
        "appends_per_second": args.entries / append_seconds,
        "proofs": args.proofs,
        "proof_build_seconds": build_seconds,
        "first_proof_seconds": first_seconds,
        "proof_verify_seconds": verify_seconds,
        "root": root.hex(),
        "disk_bytes": disk_bytes(args.dir),
    }))


if __name__ == "__main__":
    main()
