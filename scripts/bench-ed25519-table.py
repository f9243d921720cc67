#!/usr/bin/env python3
"""Tabulates scripts/bench-ed25519.sh's criterion results (standard library).

    bench-ed25519-table.py OUT LOAD_BEFORE LOAD_AFTER RUNS

Reads OUT/ed25519/criterion/<backend>/<run>/**/new/{benchmark,estimates}.json
and OUT/ed25519/backends.tsv; writes OUT/ed25519.jsonl (one line per backend,
operation and run: criterion's median per signature, ns), OUT/ed25519.json
(machine, load, builds) and OUT/ed25519.md (min–median–max over the runs in
µs per signature, and the ratio of the median to the default build's
verify_strict).
"""
import json
import os
import statistics
import sys
import time

REFERENCE = "dalek verify_strict"


def results(out):
    rows = []
    base = os.path.join(out, "ed25519", "criterion")
    for backend in sorted(os.listdir(base)) if os.path.isdir(base) else []:
        for run in sorted(os.listdir(os.path.join(base, backend))):
            for folder, _dirs, files in os.walk(os.path.join(base, backend, run)):
                if os.path.basename(folder) != "new" or "estimates.json" not in files:
                    continue
                bench = json.load(open(os.path.join(folder, "benchmark.json")))
                est = json.load(open(os.path.join(folder, "estimates.json")))
                per = (bench.get("throughput") or {}).get("Elements") or 1
                rows.append({"backend": backend, "run": int(run),
                             "operation": bench["function_id"],
                             "ns_per_signature": est["median"]["point_estimate"] / per,
                             "_order": os.path.getmtime(os.path.join(folder, "estimates.json"))})
    return rows


def interleaved(out, builds, runs):
    """The `interleaved` lines each run's log ends with (CPU time)."""
    rows = []
    for b in builds:
        for run in range(1, runs + 1):
            path = os.path.join(out, "ed25519", f"{b['backend']}.{run}.log")
            if not os.path.exists(path):
                continue
            for line in open(path):
                parts = line.rstrip("\n").split("\t")
                if parts[0] == "interleaved" and len(parts) == 6:
                    rows.append({"backend": b["backend"], "run": run, "clock": parts[1],
                                 "operation": parts[2], "median_ns": float(parts[3]),
                                 "min_ns": float(parts[4]), "rounds": int(parts[5])})
    return rows


def table(values, ops, measured, ref_key, digits_for):
    """Rows of min–median–max per backend and the median's ratio to ref_key."""
    ref = values.get(ref_key)
    if not ref and measured:
        ref = values.get((measured[0]["backend"], ref_key[1]))
    ref_median = statistics.median(ref) if ref else None
    md = ["| operation | " + " | ".join(f"{b['backend']} µs | ×" for b in measured) + " |",
          "|---|" + "---:|---:|" * len(measured)]
    for op in ops:
        cells = []
        for b in measured:
            v = values.get((b["backend"], op))
            if not v:
                cells += ["", ""]
                continue
            med = statistics.median(v)
            d = digits_for(med)
            cells.append(f"{min(v) / 1e3:.{d}f}–**{med / 1e3:.{d}f}**–{max(v) / 1e3:.{d}f}")
            cells.append(f"{med / ref_median:.2f}" if ref_median else "")
        md.append(f"| {op} | " + " | ".join(cells) + " |")
    return md


def main():
    out, load_before, load_after, runs = sys.argv[1:5]
    rows = results(out)
    builds = []
    for line in open(os.path.join(out, "ed25519", "backends.tsv")):
        name, picked, rustc = (line.rstrip("\n").split("\t") + ["", ""])[:3]
        builds.append({"backend": name, "picked": picked, "rustc": rustc})
    with open(os.path.join(out, "ed25519.jsonl"), "w") as f:
        for r in rows:
            f.write(json.dumps({k: v for k, v in r.items() if k != "_order"}) + "\n")
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                if l.startswith("model name")), "?")
    run = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cpu": cpu,
           "cpus": os.cpu_count(), "load_before": load_before, "load_after": load_after,
           "runs": int(runs), "builds": builds, "command": "scripts/bench-ed25519.sh",
           "criterion": "warm-up 0.3 s, measurement 1 s, 10 samples per benchmark"
                        + (f", {os.environ['CRITERION_ARGS']}" if os.environ.get("CRITERION_ARGS") else "")}
    json.dump(run, open(os.path.join(out, "ed25519.json"), "w"), indent=1)

    measured = [b for b in builds if not b["picked"].startswith("unavailable")]
    ops = []
    for r in sorted(rows, key=lambda r: r["_order"]):
        if r["operation"] not in ops:
            ops.append(r["operation"])
    values = {}
    for r in rows:
        values.setdefault((r["backend"], r["operation"]), []).append(r["ns_per_signature"])
    inter = interleaved(out, measured, int(runs))
    with open(os.path.join(out, "ed25519.jsonl"), "a") as f:
        for r in inter:
            f.write(json.dumps(dict(r, kind="interleaved")) + "\n")
    cpu_values = {}
    for r in inter:
        cpu_values.setdefault((r["backend"], r["operation"]), []).append(r["median_ns"])
    clock = inter[0]["clock"] if inter else "cpu"
    rounds = inter[0]["rounds"] if inter else 0
    digits = lambda med: 1 if med >= 1e3 else 3

    md = [f"{run['date']}, {cpu}, {run['cpus']} CPUs, load average {load_before} before and "
          f"{load_after} after; `scripts/bench-ed25519.sh`, {runs} runs per build (round-robin "
          "over the builds). 256 (key, 600-byte message, signature) triples; µs per signature "
          "as min–median–max over the runs, and the median's ratio to the default build's "
          "`verify_strict`.", ""]
    for b in builds:
        md.append(f"- `{b['backend']}`: {b['picked']}" + (f" ({b['rustc']})" if b["rustc"] else ""))
    md += ["", f"**{'CPU' if clock == 'cpu' else 'Wall-clock'} time, interleaved** (each run: "
           f"{rounds} rounds of one pass per operation in turn, the median pass; the thread's "
           "CPU time leaves out what other work on the shared cores took):", ""]
    md += table(cpu_values, ops, measured, ("default", REFERENCE), digits)
    md += ["", f"**Wall-clock time, criterion** ({run['criterion']}; one operation after "
           "another, so a change of load falls on some more than others):", ""]
    md += table(values, ops, measured, ("default", REFERENCE), digits)
    open(os.path.join(out, "ed25519.md"), "w").write("\n".join(md) + "\n")


if __name__ == "__main__":
    main()
