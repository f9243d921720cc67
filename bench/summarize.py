#!/usr/bin/env python3
"""Summarizes one run of scripts/bench-micro.sh (standard library only).

Reads, under OUT:
  criterion/micro/**/new/{benchmark,estimates}.json   criterion results
  criterion/peers/**/new/{benchmark,estimates}.json
  setup.jsonl     one line per setup (tree builds), from the benches
  durable.jsonl   gatelog and pymerkle durable append + proof reports
  run.json        machine, date, load, settings (from bench-micro.sh)
Writes:
  micro.jsonl, peers.jsonl   one line per benchmark (median and 95 % CI in ns)
  micro.md, peers.md         markdown tables for docs/benchmarks.md

  summarize.py OUT
"""

import json
import os
import sys

# gatelog operations in the `floor` group and the primitive each rests on.
ABOVE_FLOOR = [
    ("gatelog: node hash", "sha256 64 B", "both two SHA-256 blocks"),
    ("gatelog: leaf hash, 1 KiB leaf", "sha256 1 KiB", "both 17 SHA-256 blocks"),
    ("gatelog: checkpoint sign", "ed25519 sign", "+ checkpoint text and note formatting"),
    ("gatelog: checkpoint open", "ed25519 verify_strict", "+ note and checkpoint parsing"),
    ("gatelog: server envelope check", "ed25519 verify_strict",
     "+ DSSE parsing and PAE, event JSON and validation"),
]


def load_criterion(root, suite):
    """Results of one bench binary, in the order they were measured."""
    results = []
    base = os.path.join(root, "criterion", suite)
    for folder, _dirs, files in os.walk(base):
        if os.path.basename(folder) != "new" or "estimates.json" not in files:
            continue
        with open(os.path.join(folder, "benchmark.json")) as f:
            bench = json.load(f)
        estimates_path = os.path.join(folder, "estimates.json")
        with open(estimates_path) as f:
            est = json.load(f)
        median = est["median"]
        throughput = bench.get("throughput") or {}
        count = throughput.get("Elements") or throughput.get("Bytes") or 1
        unit = "bytes" if "Bytes" in throughput else "elements"
        results.append({
            "suite": suite,
            "group": bench["group_id"],
            "function": bench["function_id"],
            "id": bench["full_id"],
            "median_ns": median["point_estimate"],
            "ci_low_ns": median["confidence_interval"]["lower_bound"],
            "ci_high_ns": median["confidence_interval"]["upper_bound"],
            "mean_ns": est["mean"]["point_estimate"],
            "throughput": {unit: count},
            "per_second": count * 1e9 / median["point_estimate"],
            "_order": os.path.getmtime(estimates_path),
        })
    results.sort(key=lambda r: r["_order"])
    for r in results:
        del r["_order"]
    return results


def read_lines(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def fmt_time(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


def fmt_range(r):
    """`median (low–high)`, the interval in the median's unit."""
    ns = r["median_ns"]
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3), ("ns", 1)):
        if ns >= scale or unit == "ns":
            lo, hi = r["ci_low_ns"] / scale, r["ci_high_ns"] / scale
            return f"{ns / scale:.3g} {unit} ({lo:.3g}–{hi:.3g})"
    return fmt_time(ns)


def fmt_rate(per_second, unit=""):
    suffix = f" {unit}/s" if unit else "/s"
    for letter, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if per_second >= scale:
            return f"{per_second / scale:.3g} {letter}{suffix}"
    return f"{per_second:.3g}{suffix}"


def fmt_throughput(r, unit_name=""):
    if "bytes" in r["throughput"]:
        return f"{r['per_second'] / 2**20:.4g} MiB/s"
    return fmt_rate(r["per_second"], unit_name)


def fmt_ratio(x):
    return f"{x:.2f}×" if x < 10 else f"{x:.3g}×"


def fmt_gib(b):
    return f"{b / 2**30:.2f} GiB" if b >= 2**30 else f"{b / 2**20:.1f} MiB"


def label(r):
    group, function = r["group"], r["function"]
    if group.startswith("merkle "):
        return f"{function}, {group.split(' ', 1)[1]} leaves"
    if group == "lockfile parse":
        return f"lockfile parse (npm v3), {function}"
    if group == "hash":
        return function
    return f"{group}: {function}"


def header(run):
    lines = []
    if run:
        lines.append(
            f"Machine: {run.get('cpus')} CPUs ({run.get('cpu')}), {run.get('mem_gib')} GiB RAM; "
            f"date {run.get('date')}; load average at start {run.get('load_before')}, "
            f"at end {run.get('load_after')}.")
        lines.append(f"Command: `{run.get('command')}` (criterion: {run.get('criterion')}).")
        lines.append("On a shared machine timings follow its load; ratios compare runs made "
                     "back to back within one group, and are steadier than the times.")
        lines.append("")
    return lines


def setup_lines(setups, bench):
    out = []
    for s in setups:
        if s.get("bench") != bench:
            continue
        out.append(f"- setup: {s['setup']} ({fmt_gib(s['bytes'])}) built in "
                   f"{s['seconds']:.1f} s on {s['threads']} threads")
    return out


def micro_md(micro, setups, run):
    lines = ["# Microbenchmarks (`bench/benches/micro.rs`)", ""] + header(run)
    lines += ["Median with criterion's 95 % interval.", "",
              "| benchmark | time | per second |", "| --- | --- | --- |"]
    for r in micro:
        unit = "packages" if r["group"] == "lockfile parse" else ""
        lines.append(f"| {label(r)} | {fmt_range(r)} | {fmt_throughput(r, unit)} |")
    lines += [""] + setup_lines(setups, "micro")
    return "\n".join(lines) + "\n"


def median(values):
    values = sorted(values)
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def durable_summary(durable):
    """Per mode, per implementation: medians over rounds (and the range of
    append rates)."""
    runs = {}
    for d in durable:
        runs.setdefault(d["mode"], {}).setdefault(d["impl"], []).append(d)
    summary = {}
    for mode, impls in runs.items():
        for impl, rounds in impls.items():
            rates = [r["appends_per_second"] for r in rounds]
            first = rounds[0]
            summary.setdefault(mode, {})[impl] = {
                "rounds": len(rounds),
                "entries": first["entries"],
                "batch": first["batch"],
                "proofs": first["proofs"],
                "entry_bytes": first["entry_bytes"],
                "version": first.get("version"),
                "rate": median(rates),
                "rate_min": min(rates),
                "rate_max": max(rates),
                "build_ns": median(r["proof_build_seconds"] for r in rounds) * 1e9 / first["proofs"],
                "verify_ns": median(r["proof_verify_seconds"] for r in rounds) * 1e9 / first["proofs"],
                "disk_bytes": median(r["disk_bytes"] for r in rounds),
            }
    return summary


def ct_merkle_estimate(setups):
    """ct-merkle's push hashes the whole path to the root: scale its 1 M
    setup by 100 × (27 / 20) node hashes per leaf for 100 M."""
    for s in setups:
        if s["setup"] == "ct-merkle tree of 1M leaves":
            return s["seconds"] * 100 * 27 / 20
    return None


def peers_md(peers, setups, durable, run):
    lines = ["# gatelog and its peers, measured side by side", ""] + header(run)
    lines += [
        "## Merkle proofs (`bench/benches/peers.rs`)", "",
        "Each peer builds the same RFC 6962 tree (roots checked equal to gatelog's) "
        "and proves the same 1,024 leaves or old sizes in turn; gatelog builds its proofs "
        "from a store of every complete subtree in flat per-level vectors. Ratio = the "
        "peer's time / gatelog's time (above 1: gatelog is faster).", "",
        "| metric | gatelog | peer | peer's time | ratio |", "| --- | --- | --- | --- | --- |"]
    groups = {}
    for r in peers:
        if r["group"] != "floor":
            groups.setdefault(r["group"], {})[r["function"]] = r
    for group, impls in groups.items():
        ours = impls.get("gatelog")
        if not ours:
            continue
        for name, r in impls.items():
            if name == "gatelog":
                continue
            ratio = r["median_ns"] / ours["median_ns"]
            lines.append(f"| {group} leaves | {fmt_time(ours['median_ns'])} | {name} | "
                         f"{fmt_time(r['median_ns'])} | {fmt_ratio(ratio)} |")
    estimate = ct_merkle_estimate(setups)
    estimate = f", about {estimate / 60:.0f} min here by its 1 M setup" if estimate else ""
    lines += [
        "",
        "Above 1 M leaves the peers do not build their own trees: ct-merkle's `push` "
        f"recomputes the path to the root on every append (~27 node hashes per leaf at 100 M{estimate}) "
        "and its tree would need another ~6.7 GiB; rs_merkle's `from_leaves` would need the "
        "leaf hashes and every layer (~9 GiB). At 100 M, ct-merkle verifies gatelog's proofs "
        "against gatelog's root. rs_merkle has no consistency proofs.", ""]
    lines += setup_lines(setups, "peers")

    floor = [r for r in peers if r["group"] == "floor"]
    if floor:
        by_name = {r["function"]: r for r in floor}
        lines += ["", "## The floor of this machine", "",
                  "Raw SHA-256 (`sha2`) and Ed25519 (`ed25519-dalek`, 200-byte message): "
                  "what every gatelog operation is built on.", "",
                  "| primitive | time | per second |", "| --- | --- | --- |"]
        for r in floor:
            if not r["function"].startswith("gatelog: "):
                lines.append(f"| {r['function']} | {fmt_range(r)} | {fmt_throughput(r)} |")
        rows = []
        for ours_name, prim, what in ABOVE_FLOOR:
            ours, base = by_name.get(ours_name), by_name.get(prim)
            if ours and base:
                rows.append(f"| {ours_name.removeprefix('gatelog: ')} | {fmt_time(ours['median_ns'])} "
                            f"| {prim} | {fmt_time(base['median_ns'])} | "
                            f"{fmt_ratio(ours['median_ns'] / base['median_ns'])} | {what} |")
        if rows:
            lines += ["", "gatelog operations over the primitive they rest on, measured right after "
                      "it (ratio = gatelog / primitive; 1× is the floor):", "",
                      "| gatelog | time | primitive | time | ratio | on top of the primitive |",
                      "| --- | --- | --- | --- | --- | --- |"] + rows

    summary = durable_summary(durable)
    lines += ["", "## Durable append + inclusion proofs: gatelog (RocksDB) vs pymerkle (SQLite)", ""]
    if not summary:
        lines.append("Not run in this run (see the log of `scripts/bench-micro.sh`).")
        return "\n".join(lines) + "\n"
    any_run = next(iter(next(iter(summary.values())).values()))
    pm_version = next((m["pymerkle"]["version"] for m in summary.values() if "pymerkle" in m), "?")
    lines += [
        f"Equal work: entries of {any_run['entry_bytes']} bytes appended in commits, each commit "
        "durable (synced) before the next; then inclusion proofs of the same leaves at the final "
        "size, built from the store and verified against the root. gatelog: the server's "
        "`RocksStore::append` (leaves + every completed subtree hash + tree size in one "
        "`WriteBatch`, synced WAL), without index keys and checkpoint signing; pymerkle "
        f"{pm_version}: `SqliteTree` (leaves + leaf hashes in SQLite's default rollback journal, "
        "synchronous=FULL; proofs recompute subtree roots from the leaves, with its in-memory "
        "cache). Both roots are equal. The two run in alternating order, "
        f"{any_run['rounds']} rounds; medians, append range in brackets. Ratio = pymerkle / "
        "gatelog (time per operation; above 1: gatelog is faster).", "",
        "| metric | gatelog | pymerkle | ratio |", "| --- | --- | --- | --- |"]
    for mode, impls in summary.items():
        g, p = impls.get("gatelog"), impls.get("pymerkle")
        if not (g and p):
            lines.append(f"| {mode} | {'ok' if g else 'missing'} | {'ok' if p else 'missing'} | — |")
            continue
        n, b, m = g["entries"], g["batch"], g["proofs"]
        per_commit = "1 entry" if b == 1 else f"{b:,} entries"

        def rate(x):
            return f"{fmt_rate(x['rate'])} ({fmt_rate(x['rate_min'])}–{fmt_rate(x['rate_max'])})"

        lines.append(f"| durable append, {n:,} entries, {per_commit} per commit | {rate(g)} | "
                     f"{rate(p)} | {fmt_ratio(g['rate'] / p['rate'])} |")
        lines.append(f"| inclusion proof build at {n:,} (mean of {m:,}) | {fmt_time(g['build_ns'])} | "
                     f"{fmt_time(p['build_ns'])} | {fmt_ratio(p['build_ns'] / g['build_ns'])} |")
        lines.append(f"| inclusion proof verify at {n:,} (mean of {m:,}) | {fmt_time(g['verify_ns'])} | "
                     f"{fmt_time(p['verify_ns'])} | {fmt_ratio(p['verify_ns'] / g['verify_ns'])} |")
        lines.append(f"| store on disk after {n:,} entries | {fmt_gib(g['disk_bytes'])} | "
                     f"{fmt_gib(p['disk_bytes'])} | — |")
    return "\n".join(lines) + "\n"


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    micro = load_criterion(out, "micro")
    peers = load_criterion(out, "peers")
    setups = read_lines(os.path.join(out, "setup.jsonl"))
    durable = read_lines(os.path.join(out, "durable.jsonl"))
    run = {}
    if os.path.exists(os.path.join(out, "run.json")):
        with open(os.path.join(out, "run.json")) as f:
            run = json.load(f)
    for name, rows in (("micro", micro), ("peers", peers)):
        with open(os.path.join(out, f"{name}.jsonl"), "w") as f:
            for r in rows:
                f.write(json.dumps(r) + "\n")
    with open(os.path.join(out, "micro.md"), "w") as f:
        f.write(micro_md(micro, setups, run))
    with open(os.path.join(out, "peers.md"), "w") as f:
        f.write(peers_md(peers, setups, durable, run))


if __name__ == "__main__":
    main()
