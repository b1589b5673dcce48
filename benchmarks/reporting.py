"""The report of a benchmark run: every figure side by side, Cairn's ratio to each MLflow
variant, the servers' memory, the correctness checks and the issue's targets (``run.py`` calls
``report`` once every system has run)."""

from __future__ import annotations

import json
from pathlib import Path


def load(path: Path) -> list[dict]:
    if not path or not path.exists():
        return []
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip().startswith("{")]


def summaries(recs: list[dict]) -> dict[tuple, dict]:
    out = {}
    for r in recs:
        if r.get("summary") and "workload" in r:
            out[(r["workload"], r["op"])] = r  # the harness's op names are unique
    return out


LOAD_KEYS = (
    "load_s",
    "bulk_versions_per_s",
    "rest_versions_per_s",
    "store_api_versions_per_s",
    "bulk_rows_match_rest_rows",
    "skipped",
)
HIGHER = {"ops_per_s", "mib_per_s"}
METRICS = {  # which figures to compare, per workload
    "W1": ["ops_per_s", "p50_ms", "p99_ms"],
    "W2": ["ops_per_s", "p50_ms", "p99_ms"],
    "W3": ["ops_per_s", "p50_ms", "p99_ms"],
    "W4": ["p50_ms", "p99_ms"],
    "W5": [
        "mib_per_s",
        "wall_s",
        "p50_ms",
        "server_max_proc_rss_growth_mib",
        "server_tree_rss_peak_mib",
    ],
}


def better(metric: str, cairn: float | None, other: float | None) -> str:
    """How many times better Cairn is (>1: Cairn better): throughput ratio, or time ratio."""
    if cairn is None or other is None or metric.startswith("server_"):
        return "-"
    if metric in HIGHER:
        return f"{cairn / other:.2f}x" if other else "-"
    return f"{other / cairn:.2f}x" if cairn else "-"


def fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.1f}" if abs(v) >= 10 else f"{v:.2f}"
    return str(v)


def label(key: tuple) -> str:
    return key[1]


def report(files: dict[str, Path], sha: dict | None, a, lines: list[str]) -> None:
    p = lines.append
    data = {k: summaries(load(v)) for k, v in files.items()}
    cols = [k for k in ("default", "nodelay", "cairn") if k in data]
    keys: list[tuple] = []
    for k in cols:
        for key in data[k]:
            if key not in keys:
                keys.append(key)
    p("## Every figure (medians of runs), with Cairn's advantage")
    p("")
    p(
        "`x vs X` = how many times better Cairn is than MLflow-X: throughput Cairn/X, "
        "time X/Cairn (> 1: Cairn better)."
    )
    p("")
    head = ["workload", "op", "metric", *cols]
    if "cairn" in data:
        head += [f"x vs {c}" for c in cols if c != "cairn"]
    p("| " + " | ".join(head) + " |")
    p("|" + "---|" * len(head))
    for key in keys:
        for m in METRICS.get(key[0], []):
            vals = {c: data[c].get(key, {}).get(m) for c in cols}
            if all(v is None for v in vals.values()):
                continue
            row = [key[0], label(key), m, *[fmt(vals[c]) for c in cols]]
            if "cairn" in data:
                row += [better(m, vals["cairn"], vals[c]) for c in cols if c != "cairn"]
            p("| " + " | ".join(row) + " |")
    p("")
    # memory and idle footprint
    p("## Server memory")
    p("")
    p(
        "| system | idle tree RSS MiB (PSS) | procs | tree RSS after W4 MiB | "
        "1 GiB up: max proc RSS growth / tree peak MiB | 1 GiB down: growth / tree peak MiB |"
    )
    p("|---|---|---|---|---|---|")
    for c in cols:
        recs = load(files[c])
        meta = next((r for r in recs if r.get("meta")), {})
        start = meta.get("server_rss_start") or {}
        after_w4 = next(
            (
                r["server_rss_after"]
                for r in recs
                if r.get("workload") == "W4" and "server_rss_after" in r
            ),
            {},
        )

        def mem(op, s=data[c]):
            r = s.get(("W5", op), {})
            growth, peak = (
                r.get("server_max_proc_rss_growth_mib"),
                r.get("server_tree_rss_peak_mib"),
            )
            return f"{fmt(growth)} / {fmt(peak)}"

        p(
            f"| {c} | {fmt(start.get('rss_mib'))} ({fmt(start.get('pss_mib'))}) | "
            f"{fmt(start.get('procs'))} | {fmt(after_w4.get('rss_mib'))} | "
            f"{mem('upload 1 file/httpx')} | {mem('download 1 file/httpx')} |"
        )
    p("")
    # correctness
    p("## Correctness")
    p("")
    for c in cols:
        recs = load(files[c])
        w2 = [r for r in recs if r.get("workload") == "W2" and not r.get("summary") and "op" in r]
        flags = [
            all(
                r.get(k)
                for k in (
                    "client_versions_unique",
                    "client_versions_gapless",
                    "server_versions_unique",
                    "server_versions_gapless",
                    "server_matches_client",
                )
            )
            for r in w2
        ]
        errs = sum(r.get("errors") or 0 for r in recs if r.get("summary"))
        w5 = [r for r in recs if r.get("workload") == "W5" and not r.get("summary")]
        bad5 = [
            r
            for r in w5
            if r.get("error")
            or r.get("size_ok") is False
            or r.get("content_mismatch")
            or (r.get("curl_rc") not in (None, 0))
        ]
        fatal = [r for r in recs if r.get("fatal")]
        load_rec = next((r for r in recs if r.get("op") == "load"), {})
        p(
            f"- **{c}**: W2 runs unique+gapless+matching: {flags}; errors in summaries: {errs}; "
            f"W5 failures: {len(bad5)}; fatal: {len(fatal)}; W4 load: "
            f"{ {k: load_rec.get(k) for k in LOAD_KEYS if k in load_rec} }"
        )
        for r in (bad5 + fatal)[:3]:
            p(
                "  - "
                + json.dumps({k: r.get(k) for k in ("op", "client", "error", "fatal", "curl_out")})
            )
    p("")
    if sha:
        p(
            f"## Hashing reference\n\n`sha256sum {sha['file']}`: median {sha['median_s']} s "
            f"({sha['mib_per_s']} MiB/s), runs {sha['runs_s']}.  "
        )
        for k in ("openssl", "hashlib"):
            if k in sha:
                p(
                    f"{k} sha256 of the same file: median {sha[k]['median_s']} s "
                    f"({sha[k]['mib_per_s']} MiB/s).  "
                )
        p("")
    if "cairn" in data and "nodelay" in data:
        targets(data, sha, p)


def targets(data, sha, p) -> None:
    c, n = data["cairn"], data["nodelay"]
    rows = []

    def add(what, key, metric, need):
        cv, nv = c.get(key, {}).get(metric), n.get(key, {}).get(metric)
        if cv is None or nv is None:
            rows.append((what, "-", "-", f"≥{need}x", "not measured"))
            return
        x = cv / nv if metric in HIGHER else nv / cv
        rows.append(
            (what, fmt(cv), fmt(nv), f"≥{need}x", f"{x:.3g}x " + ("MET" if x >= need else "MISSED"))
        )

    add("W1 registration ops/s", ("W1", "create_version"), "ops_per_s", 3)
    add("W2 registration ops/s (8 clients)", ("W2", "create_version_concurrent"), "ops_per_s", 3)
    for op in ("get_version", "get_version_by_alias"):
        for cl in (1, 8):
            add(f"W3 {op}@{cl} p50", ("W3", f"{op}@{cl}"), "p50_ms", 5)
    for key in c:
        if key[0] == "W4" and key[1] != "list all versions of 1 model (100/page)":
            add(f"W4 {key[1]} p50", key, "p50_ms", 5)
    add(
        "W4 list all 1,000 versions of a model p50",
        ("W4", "list all versions of 1 model (100/page)"),
        "p50_ms",
        5,
    )
    for op in ("upload 1 file/httpx", "download 1 file/httpx"):
        add(f"W5 big {op.split()[0]} MiB/s (httpx; Cairn: SDK path)", ("W5", op), "mib_per_s", 4)
    p("## Targets (vs MLflow nodelay)")
    p("")
    p("| target | cairn | nodelay | need | result |")
    p("|---|---|---|---|---|")
    for r in rows:
        p("| " + " | ".join(r) + " |")
    if sha:
        for op in ("upload 1 file/httpx", "download 1 file/httpx"):
            wall = c.get(("W5", op), {}).get("wall_s")
            if wall is not None:
                x = wall / sha["median_s"]
                p(
                    f"| W5 1 GiB {op.split()[0]} time within 2x sha256sum | {wall:.2f} s | "
                    f"sha256sum {sha['median_s']:.2f} s | ≤2.00x | {x:.2f}x "
                    f"{'MET' if x <= 2 else 'MISSED'} |"
                )
                ref = sha.get("hashlib")
                if ref:  # stricter, for information: coreutils' sha256sum is slow here
                    y = wall / ref["median_s"]
                    p(
                        f"| (info) same vs Python hashlib sha256 | {wall:.2f} s | "
                        f"hashlib {ref['median_s']:.2f} s | ≤2.00x | {y:.2f}x "
                        f"{'met' if y <= 2 else 'missed'} |"
                    )
    for op in ("upload 1 file/httpx", "download 1 file/httpx"):
        g = c.get(("W5", op), {}).get("server_max_proc_rss_growth_mib")
        if g is not None:
            p(
                f"| W5 1 GiB {op.split()[0]}: server peak RSS growth | {g:.1f} MiB | - "
                f"| <100 MiB | {'MET' if g < 100 else 'MISSED'} |"
            )
    p("")


# --------------------------------------------------------------------------- main
