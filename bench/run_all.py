"""Run every benchmark in bench/ and summarise their goals: what `make bench` runs.

Every `bench/bench_*.py` found is run (plus `sandbox_rss.py`), each in its own process, one
after the other so that they never compete for the cores. Each writes
`bench/results/<name>.json` (its file name without `bench_`); a new benchmark only has to
follow that convention, and may put a list of {"goal", "value", "target", "met"} under
"goals" to appear in the summary. Known scripts run in the order below, new ones after them.

    python bench/run_all.py                      # everything
    python bench/run_all.py proxy_cost streaming # a subset, by result name
    BENCH_QUICK=1 python bench/run_all.py        # short runs (a couple of minutes in all)

Exits non-zero when a benchmark failed (crashed, or found a wrong response); a missed goal
is a result, reported in the summary, not a failure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
ORDER = ("proxy_cost", "scale", "streaming", "cold_start", "sandbox_rss")
EXTRA_SCRIPTS = ("sandbox_rss.py",)
TIMEOUT_S = float(os.environ.get("BENCH_SCRIPT_TIMEOUT", "1800"))


def result_name(script: Path) -> str:
    return script.stem.removeprefix("bench_")


def discover() -> list[Path]:
    scripts = sorted(BENCH_DIR.glob("bench_*.py")) + [BENCH_DIR / s for s in EXTRA_SCRIPTS if (BENCH_DIR / s).exists()]
    rank = {name: i for i, name in enumerate(ORDER)}
    return sorted(scripts, key=lambda s: (rank.get(result_name(s), len(ORDER)), s.name))


def main(argv: list[str]) -> int:
    scripts = discover()
    if argv:
        unknown = set(argv) - {result_name(s) for s in scripts}
        if unknown:
            print(
                f"unknown benchmark(s): {', '.join(sorted(unknown))}; "
                f"known: {', '.join(result_name(s) for s in scripts)}"
            )
            return 2
        scripts = [s for s in scripts if result_name(s) in argv]
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    mode = "quick" if os.environ.get("BENCH_QUICK", "") not in ("", "0") else "full"
    print(f"{mode} run of {', '.join(result_name(s) for s in scripts)}", flush=True)
    summary = []
    started_all = time.monotonic()
    for script in scripts:
        name = result_name(script)
        result = RESULTS_DIR / f"{name}.json"
        print(f"\n=== {name} ({script.name}) ===", flush=True)
        started, wall0 = time.time(), time.monotonic()
        try:
            done = subprocess.run([sys.executable, str(script)], cwd=BENCH_DIR.parent, timeout=TIMEOUT_S, check=False)
            code = done.returncode
        except subprocess.TimeoutExpired:
            code = -1
            print(f"{name} did not finish within {TIMEOUT_S:.0f} s")
        wrote = result.exists() and result.stat().st_mtime >= started
        goals = json.loads(result.read_text()).get("goals", []) if wrote else []
        summary.append({
            "benchmark": name, "exit_code": code,
            "result": str(result.relative_to(BENCH_DIR.parent)) if wrote else None,
            "seconds": round(time.monotonic() - wall0, 1), "goals": goals,
        })  # fmt: skip
    total = time.monotonic() - started_all
    (RESULTS_DIR / "summary.json").write_text(
        json.dumps({"mode": mode, "seconds": round(total, 1), "runs": summary}, indent=2) + "\n"
    )
    print(f"\n=== summary ({mode} run, {total / 60:.1f} min) ===")
    failed = False
    for run in summary:
        ok = run["exit_code"] == 0 and run["result"]
        failed |= not ok
        met = sum(1 for g in run["goals"] if g["met"])
        goals = f", goals met {met}/{len(run['goals'])}" if run["goals"] else ""
        print(
            f"{run['benchmark']:<14} {'ok' if ok else 'FAILED (exit ' + str(run['exit_code']) + ')':<18} "
            f"{run['seconds']:7.1f} s{goals}"
        )
        for goal in run["goals"]:
            if not goal["met"]:
                print(f"    missed: {goal['goal']}: {goal['value']} (target {goal['target']})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
