#!/usr/bin/env python3
"""Collects the reports scripts/bench.sh left in BENCH_OUT into one JSON
document and renders it as markdown (benchmarks-latest.md).

    scripts/bench-report.py BENCH_OUT PREVIOUS_JSON OUT_JSON OUT_MD

PREVIOUS_JSON (may be missing) holds the sections of earlier runs: a section
this run did not measure (e.g. the 10 M scaling run of `make bench-scaling`
during `make bench`) is kept with its own date, so the tables always show
every figure and when it was measured. Standard library only.
"""
import glob
import json
import os
import statistics
import sys

TARGETS = {
    "batch": 50_000,
    "single": 20_000,
    "proofs": 50_000,
    "lockfile_2000": 1.0,
    "monitor": 100_000,
    "alert": 2.0,
    "link_2000": 1.5,
    "link_loopback_2000": 0.5,
}


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def read_text(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def numbers(path):
    text = read_text(path)
    return [float(t) for t in text.split()] if text else []


def hammer_subset(report):
    """The figures the tables use from a `gatelog-lab hammer --json` report,
    plus any proof figures a hammer with proof readers reports."""
    if not report:
        return None
    keep = {k: report.get(k) for k in (
        "accepted", "refused", "seconds", "events_per_second", "latency_ms", "reads",
        "reads_per_second", "verification_failures", "tree_size",
        "server_cpu_seconds", "server_peak_rss_mib", "offered_rate")}
    keep.update({k: v for k, v in report.items() if "proof" in k})
    proofs = report.get("proofs")
    if isinstance(proofs, dict) and proofs.get("count"):
        keep["proofs_per_second"] = proofs["per_second"]
        keep["proof_latency_ms"] = proofs["latency_ms"]
    return keep


# ---------------------------------------------------------------- collect

def collect_micro(out, run):
    micro = read_text(os.path.join(out, "micro.md"))
    peers = read_text(os.path.join(out, "peers.md"))
    ed25519 = read_text(os.path.join(out, "ed25519.md"))
    if micro is None and peers is None and ed25519 is None:
        return None
    return dict(run, micro_markdown=micro, peers_markdown=peers, ed25519_markdown=ed25519)


def published_peers(path):
    """metric<TAB>peer<TAB>figure<TAB>note lines; # starts a comment."""
    rows = []
    for line in (read_text(path) or "").splitlines():
        parts = line.split("\t")
        if len(parts) >= 3 and not line.startswith("#"):
            try:
                rows.append({"metric": parts[0], "peer": parts[1], "figure": float(parts[2]),
                             "note": parts[3] if len(parts) > 3 else ""})
            except ValueError:
                pass
    return rows


def collect_ingest(out, run):
    runs = []
    for d in sorted(glob.glob(os.path.join(out, "ingest", "run-*"))):
        batch = hammer_subset(read_json(os.path.join(d, "batch.json")))
        if not batch:
            continue
        runs.append({
            "batch": batch,
            "single": hammer_subset(read_json(os.path.join(d, "single.json"))),
            "paced": hammer_subset(read_json(os.path.join(d, "paced.json"))),
            "paced_readers": hammer_subset(read_json(os.path.join(d, "paced-readers.json"))),
            "verify": {n: numbers(os.path.join(d, f"verify-{n}.times")) for n in ("100", "2000", "10000")},
            "monitor": read_json(os.path.join(d, "monitor-catchup.json")),
            "alert_delays": numbers(os.path.join(d, "alert-delays.txt")),
        })
    return dict(run, runs=runs, releases=read_text(os.path.join(out, "ingest", "releases")) or "") if runs else None


def collect_scaling(out, run):
    sizes, skipped = {}, {}
    for d in sorted(glob.glob(os.path.join(out, "scaling", "size-*"))):
        size = d.rsplit("-", 1)[1]
        why = read_text(os.path.join(d, "skipped"))
        if why:
            skipped[size] = dict(run, why=why.strip())
            continue
        load = read_json(os.path.join(d, "load.json"))
        if not load:
            continue
        load.pop("checkpoint", None)
        runs = [hammer_subset(read_json(p)) for p in sorted(glob.glob(os.path.join(d, "hammer-*.json")))]
        proof_runs = [hammer_subset(read_json(p)) for p in sorted(glob.glob(os.path.join(d, "proofs-*.json")))]
        sizes[size] = dict(
            run,
            load=load,
            startup_seconds=numbers(os.path.join(d, "startup.times")),
            runs=[r for r in runs if r],
            proof_runs=[r for r in proof_runs if r and r.get("proofs_per_second") is not None],
            monitor=read_json(os.path.join(d, "monitor-catchup.json")),
            verify_2000=numbers(os.path.join(d, "verify-2000.times")),
        )
    return sizes, skipped


def collect_link(out, run):
    """scripts/bench-link.sh's results.json: `gatelog verify` over loopback
    and an emulated CI link."""
    results = read_json(os.path.join(out, "link", "results.json"))
    if not results or not results.get("rows"):
        return None
    return dict(run, **results)


def collect(out, previous):
    meta = read_json(os.path.join(out, "run.json")) or {}
    run = {k: meta.get(k) for k in ("date", "commit", "machine", "command", "quick")}
    run["load_average_after"] = meta.get("load_average_after", {})
    doc = {"machine": meta.get("machine"), "date": meta.get("date"), "commit": meta.get("commit"),
           "wall_seconds": meta.get("wall_seconds", {}), "steps": meta.get("steps", []),
           "load_average_after": meta.get("load_average_after", {}),
           "sections": dict((previous or {}).get("sections", {}))}
    doc["peers_published"] = published_peers(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                           "bench-peers.tsv"))
    micro = collect_micro(out, run)
    if micro:
        doc["sections"]["micro"] = micro
    ingest = collect_ingest(out, run)
    if ingest:
        doc["sections"]["ingest"] = ingest
    link = collect_link(out, run)
    if link:
        doc["sections"]["link"] = link
    sizes, skipped = collect_scaling(out, run)
    if sizes or skipped:
        scaling = doc["sections"].setdefault("scaling", {"sizes": {}, "skipped": {}})
        for size in list(sizes) + list(skipped):
            scaling["sizes"].pop(size, None)
            scaling["skipped"].pop(size, None)
        scaling["sizes"].update(sizes)
        scaling["skipped"].update(skipped)
    return doc


# ----------------------------------------------------------------- render

def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def n0(v):
    return "—" if v is None else f"{v:,.0f}"


def spread(values, fmt=n0, unit=""):
    """Median, and min–max when runs repeat."""
    values = [v for v in values if v is not None]
    if not values:
        return "not measured"
    m = fmt(statistics.median(values)) + unit
    if len(values) == 1:
        return f"{m} (1 run)"
    return f"{m} ({fmt(min(values))}–{fmt(max(values))}, {len(values)} runs)"


def sec(v):
    return "—" if v is None else f"{v:.2f}"


def ms(v):
    return "—" if v is None else f"{v:,.0f}"


def ratio(ours, target, lower_is_better=False):
    if ours is None or not target:
        return "—"
    r = (target / ours) if lower_is_better else (ours / target)
    return f"{r:.2f}×" + (" ✓" if r >= 1 else "")


def peer_cell(peers, metric, ours, lower_is_better=False):
    rows = [p for p in peers if p["metric"] == metric]
    if not rows:
        return "—", "—"
    p = rows[0]
    r = "—"
    if ours and p["figure"]:
        r = f"{(p['figure'] / ours) if lower_is_better else (ours / p['figure']):.2f}×"
    return f"{p['peer']}: {p['figure']:,.0f}" + (f" ({p['note']})" if p["note"] else ""), r


def lat(runs, kind, q):
    return [((r.get(kind) or {}).get("latency_ms") or {}).get(q) for r in runs]


def span(values):
    """min–median–max in seconds."""
    values = [v for v in values if v is not None]
    if not values:
        return "—"
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{min(values):.2f}–{statistics.median(values):.2f}–{max(values):.2f}"


def link_2000(link, key):
    """The median wall time of the 2,000-package lockfiles (all formats)."""
    rows = [r for r in (link or {}).get("rows", [])
            if r["packages"] == 2000 and r.get("releases", "newest") == "newest"]
    return [t for r in rows for t in r[key]]


def render_link(link):
    e = link.get("emulation") or {}
    md = [f"## Verify over a CI link ({link.get('date')}, `{link.get('commit')}`)", "",
          f"`scripts/bench-link.sh` on a {link['size']:,}-entry log filled by `gatelog-bulk-load`: "
          f"`gatelog verify` of lockfiles naming the same loaded releases in each format, "
          f"{link.get('runs')} runs each over loopback and over an emulated link of "
          f"{e.get('rtt_ms')} ms round trip and {e.get('mbit')} Mbit/s. Wall time is min–median–max of "
          "the runs (seconds); bytes are TCP payload through the proxy, the answer (down) and the "
          "request (up), of one run. *newest*: the newest release of each package, whose bundle is "
          "little more than its own events; *oldest*: the oldest, whose bundle also carries every later "
          "event of the package (the chain a verifier walks, up to 1,000 events).", "",
          f"- **Emulation ({e.get('mode')}):** {e.get('emulation')}",
          f"- **Check (curl, median of {e.get('runs')}):** a small GET {e.get('small_get_new_connection_s', 0) * 1000:.0f} ms "
          f"on a new connection, {e.get('small_get_open_connection_s', 0) * 1000:.0f} ms on an open one; "
          f"10 MB in {e.get('download_10mb_s', 0):.2f} s ({e.get('download_10mb_without_delay_s', 0):.2f} s "
          "through the rate limit alone)",
          f"- **Load average (1, 5, 15 min) at the end:** {link.get('load_average')} on {os.cpu_count()} cores", "",
          "| entries | releases | format | packages | loopback s | link s | bytes down | bytes up | "
          "connections | all verified |",
          "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in link["rows"]:
        md.append(f"| {link['size']:,} | {r.get('releases', 'newest')} | {r['format']} | {r['packages']:,} | {span(r['loopback_s'])} | "
                  f"{span(r['link_s'])} | {r['down_bytes']:,} | {r['up_bytes']:,} | {r['connections']} | "
                  f"{'yes' if r['all_verified'] else 'NO'} |")
    md.append("")
    return md


def render(doc):
    s = doc["sections"]
    ingest, scaling, micro = s.get("ingest"), s.get("scaling"), s.get("micro")
    irun = ingest["runs"] if ingest else []
    md = ["# Benchmarks: latest figures", "",
          "Generated by `scripts/bench.sh` (`make bench`, `make bench-scaling`) from the reports in",
          "`BENCH_OUT`; do not edit by hand. The analysis is in [benchmarks.md](benchmarks.md), the",
          "plot in [scaling.svg](scaling.svg), the raw figures in",
          "[benchmarks-latest.json](benchmarks-latest.json). A figure is the median of the runs, with",
          "min–max when runs repeat. Every section says when and on which commit it was measured.", "",
          f"- **Machine:** {doc.get('machine')}",
          f"- **Latest run:** {doc.get('date')}, commit `{doc.get('commit')}`, steps: {', '.join(doc.get('steps') or [])}"]
    walls = doc.get("wall_seconds") or {}
    if walls:
        md.append("- **Wall time of that run:** " + ", ".join(f"{k} {v:.0f} s" for k, v in walls.items()))
    loads = doc.get("load_average_after") or {}
    if loads:
        md.append("- **Load average (1, 5, 15 min) after each step:** "
                  + ", ".join(f"{k} {v}" for k, v in loads.items())
                  + f" on {os.cpu_count()} cores: other work on the machine shares the cores and skews every figure")
    md.append("")

    # Targets.
    md += ["## Against the targets", "",
           "| metric | ours | target | vs target (≥ 1 meets it) | peer | ours vs peer |", "| --- | --- | --- | --- | --- | --- |"]

    def row(metric, values, fmt, unit, target_text, target, peer_metric, lower=False):
        ours = med(values)
        peer, vs_peer = peer_cell(doc.get("peers_published", []), peer_metric, ours, lower)
        md.append(f"| {metric} | {spread(values, fmt, unit)} | {target_text} | "
                  f"{ratio(ours, target, lower)} | {peer} | {vs_peer} |")

    row("durable ingest, batch endpoint (new log), events/s",
        [r["batch"]["events_per_second"] for r in irun], n0, "", "≥ 50,000", TARGETS["batch"], "batch")
    row("durable ingest, one event per request, events/s",
        [(r.get("single") or {}).get("events_per_second") for r in irun], n0, "", "≥ 20,000",
        TARGETS["single"], "single")
    paced = [r for r in irun if r.get("paced")]
    if paced:
        offered = med([r["paced"].get("offered_rate") for r in paced])
        row(f"p99 submit → verified signed answer at {n0(offered)} events/s offered, requests of 100, "
            "200 ms batches, no readers, ms", lat(paced, "paced", "p99"), ms, "", "≤ 240", 240, "latency",
            lower=True)
        row("the same with 2 verifying readers reading flat out, ms",
            lat([r for r in paced if r.get("paced_readers")], "paced_readers", "p99"), ms, "", "≤ 240", 240,
            "latency", lower=True)
    row("p99 submit → verified signed answer, batch endpoint flat out (32 writers × 1,000 in flight: "
        "queueing), ms", lat(irun, "batch", "p99"), ms, "", "(≤ 240 at a rate the log absorbs)", 240,
        "latency", lower=True)
    row("p99 submit → verified signed answer, one per request (25 ms batches), ms",
        lat(irun, "single", "p99"), ms, "", "≤ 30", 30, "latency_single", lower=True)
    with_proofs = [(int(k), v) for k, v in ((scaling or {}).get("sizes") or {}).items() if v.get("proof_runs")]
    if with_proofs:
        size, rec = max(with_proofs)
        row(f"inclusion proofs of random entries at {size:,} entries, verified, /s",
            [r["proofs_per_second"] for r in rec["proof_runs"]], n0, "", "≥ 50,000",
            TARGETS["proofs"], "proofs")
    else:
        md.append("| inclusion proofs, /s | not measured: this `gatelog-lab hammer` has no `--proof-readers` "
                  f"(verified reads during ingest: {spread([r['batch']['reads_per_second'] for r in irun], n0, '/s')}, "
                  "each a checkpoint with a consistency proof or a release bundle with its inclusion proofs) "
                  "| ≥ 50,000 | — | — | — |")
    row("`gatelog verify`, 2,000-package lockfile, s (median of 5 per run)",
        [med(r["verify"].get("2000", [])) for r in irun], sec, "", "< 1", TARGETS["lockfile_2000"],
        "lockfile", lower=True)
    link = s.get("link")
    if link:
        row(f"`gatelog verify`, 2,000 packages (newest releases), {link['size']:,}-entry log, loopback "
            "(all formats), s",
            link_2000(link, "loopback_s"), sec, "", "< 0.5", TARGETS["link_loopback_2000"], "link_loopback",
            lower=True)
        row(f"the same over a CI link ({(link.get('emulation') or {}).get('rtt_ms')} ms RTT, "
            f"{(link.get('emulation') or {}).get('mbit')} Mbit/s), s",
            link_2000(link, "link_s"), sec, "", "< 1.5", TARGETS["link_2000"], "link", lower=True)
    big = [(int(k), v) for k, v in ((scaling or {}).get("sizes") or {}).items() if v.get("monitor")]
    if big:
        size, rec = max(big)
        m = rec["monitor"]
        row(f"monitor catch-up on a {size:,}-entry bulk-loaded log, entries/s",
            [m["entries"] / m["seconds"]], n0, "", "≥ 100,000", TARGETS["monitor"], "monitor")
    row("monitor catch-up on the batch run's log, entries/s",
        [(r["monitor"] or {}).get("entries", 0) / (r["monitor"] or {}).get("seconds", 1) if r["monitor"] else None
         for r in irun], n0, "", "≥ 100,000", TARGETS["monitor"], "monitor_small")
    row("checkpoint → monitor alert (poll 0.5 s), worst of 5 attacks, s",
        [max(r["alert_delays"]) if r["alert_delays"] else None for r in irun], sec, "", "≤ 2",
        TARGETS["alert"], "alert", lower=True)
    md.append("")

    if ingest:
        md += [f"## Durable ingest and client on a new log ({ingest.get('date')}, `{ingest.get('commit')}`)", "",
               f"`{ingest.get('command')}`, `scripts/bench-ingest.sh {ingest.get('releases', '').strip()}` per run: each run starts a release `gatelog-server` on a new RocksDB folder and "
               "drives it over loopback with `gatelog-lab hammer` (every acknowledgement verified, 2 verifying "
               "readers), then verifies lockfiles and runs the monitor on the batch run's log.", "",
               "| run | batch events/s | p50 / p99 ms | reads/s | server CPU-s / wall s | peak RSS MiB | "
               "single events/s | p50 / p99 ms | failures |",
               "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for i, r in enumerate(irun, 1):
            b, g = r["batch"], r.get("single") or {}
            bl, gl = b.get("latency_ms") or {}, g.get("latency_ms") or {}
            md.append(f"| {i} | {n0(b['events_per_second'])} | {ms(bl.get('p50'))} / {ms(bl.get('p99'))} | "
                      f"{n0(b.get('reads_per_second'))} | {sec(b.get('server_cpu_seconds'))} / {sec(b.get('seconds'))} | "
                      f"{n0(b.get('server_peak_rss_mib'))} | {n0(g.get('events_per_second'))} | "
                      f"{ms(gl.get('p50'))} / {ms(gl.get('p99'))} | "
                      f"{(b.get('verification_failures') or 0) + (g.get('verification_failures') or 0)} |")
        md += ["", "| `gatelog verify` lockfile | median (s) | min–max over all runs | target |",
               "| --- | --- | --- | --- |"]
        for n in ("100", "2000", "10000"):
            allt = [t for r in irun for t in r["verify"].get(n, [])]
            meds = [med(r["verify"].get(n, [])) for r in irun]
            if allt:
                md.append(f"| {int(n):,} packages | {spread(meds, sec)} | {min(allt):.2f}–{max(allt):.2f} | "
                          f"{'< 1 s' if n == '2000' else '—'} |")
        mons = [r["monitor"] for r in irun if r["monitor"]]
        if mons:
            md += ["", "| monitor on the batch run's log | figure |", "| --- | --- |",
                   f"| catch-up from entry 0, all rules | {spread([m['entries'] / m['seconds'] for m in mons])} "
                   f"entries/s ({mons[0]['entries']:,} entries) |",
                   f"| checkpoint → alert, 5 attacks per run | "
                   f"{', '.join(sec(d) for r in irun for d in r['alert_delays'])} s |"]
        md.append("")

    if scaling and (scaling.get("sizes") or scaling.get("skipped")):
        md += ["## Scaling with the size of the log", "",
               "Each size is a new log filled by `gatelog-bulk-load` (the hammer's signed release chains, "
               "written by the server's own sequencer), then measured with the release server started on it. "
               "Every run starts from the loaded size on its own copy of the folder (SST files "
               "hard-linked), so runs do not pile up: ingest through the batch endpoint (60,000 events, "
               "2 verifying readers), then a read-only run of verified inclusion proofs of random entries "
               "(`gatelog-lab hammer --writers 0 --proof-readers 8`). ![scaling](scaling.svg)", "",
               "| entries | measured | bulk load entries/s | bytes/entry (on disk) | server start-up s | "
               "batch ingest events/s | p50 / p99 ms | verified reads/s | inclusion proofs/s | proof p50 / p99 ms | "
               "monitor catch-up entries/s | verify 2,000 pkgs s |",
               "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for size in sorted(scaling.get("sizes", {}), key=int):
            rec = scaling["sizes"][size]
            runs, load = rec["runs"], rec["load"]
            p50, p99 = med([(r.get("latency_ms") or {}).get("p50") for r in runs]), med(
                [(r.get("latency_ms") or {}).get("p99") for r in runs])
            mon = rec.get("monitor")
            prs = rec.get("proof_runs", [])
            pp50 = med([r["proof_latency_ms"]["p50"] for r in prs])
            pp99 = med([r["proof_latency_ms"]["p99"] for r in prs])
            md.append(
                f"| {int(size):,} | {rec.get('date', '')[:10]} `{rec.get('commit')}` | "
                f"{n0(load.get('entries_per_second'))} | {n0(load.get('bytes_per_entry'))} "
                f"({load.get('bytes_on_disk', 0) / 2**30:.2f} GiB) | {spread(rec.get('startup_seconds', []), sec)} | "
                f"{spread([r.get('events_per_second') for r in runs])} | {ms(p50)} / {ms(p99)} | "
                f"{spread([r.get('reads_per_second') for r in runs])} | "
                f"{spread([r['proofs_per_second'] for r in prs])} | "
                f"{'—' if pp50 is None else f'{pp50:.1f} / {pp99:.1f}'} | "
                f"{n0(mon['entries'] / mon['seconds']) if mon else 'not run at this size'} | "
                f"{spread(rec.get('verify_2000', []), sec)} |")
        for size, why in sorted(scaling.get("skipped", {}).items(), key=lambda kv: int(kv[0])):
            md.append(f"| {int(size):,} | {why.get('date', '')[:10]} | skipped: {why['why']} "
                      "| | | | | | | | | |")
        md.append("")

    if link:
        md += render_link(link)

    if micro:
        md += [f"## Microbenchmarks and peers ({micro.get('date')}, `{micro.get('commit')}`)", ""]
        md.append(micro.get("micro_markdown") or "No microbenchmark report in this run.")
        md += ["", "### Peers", "", micro.get("peers_markdown") or
               "Not measured in this run (`scripts/bench-micro.sh` writes `peers.md` when it is present).", ""]
        md += ["### Ed25519 floor", "",
               "ed25519-dalek `verify_strict` (gatelog's verifier) next to the other Ed25519 verifiers "
               "on the same inputs, per curve25519-dalek backend (`scripts/bench-ed25519.sh`; "
               "docs/benchmarks.md, \"Is 67 µs the floor?\").", "",
               micro.get("ed25519_markdown") or
               "Not measured in this run (`scripts/bench-micro.sh` with BENCH_ED25519=0).", ""]
    return "\n".join(md).rstrip() + "\n"


def main():
    out, previous, out_json, out_md = sys.argv[1:5]
    doc = collect(out, read_json(previous))
    with open(out_json, "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
        f.write("\n")
    with open(out_md, "w") as f:
        f.write(render(doc))


if __name__ == "__main__":
    main()
