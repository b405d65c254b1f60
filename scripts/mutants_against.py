#!/usr/bin/env python3
"""Judges again, against more tests, the mutants a cargo-mutants run missed.

cargo-mutants (27.1.0) runs only the mutated package's tests: `--test-package` did not bring
tether-stub's tests into a run on tether-server. The server's delivery code is mostly exercised
through a running stub (its hostile_* and limits tests), so a mutant the server's own tests
miss is judged here: each missed mutant's own diff (from the run's output directory) is
applied, each command runs in turn until one fails, and the diff is reverted.

Usage: python3 scripts/mutants_against.py OUTPUT_DIR [--timeout S] -- 'CMD' ['CMD' ...]
e.g.   python3 scripts/mutants_against.py mutants.out -- \
         'cargo test -p tether-server --test join --test layers --test minimal --test unavailable' \
         'cargo test -p tether-stub --test hostile_socket --test limits --test protocol --test auth'
Prints one line per mutant: CAUGHT (with the failing tests), MISSED, UNVIABLE or TIMEOUT,
and the counts. A timeout counts as detected only on a quiet machine (a hang); under load,
run it again.
"""
import json
import shlex
import subprocess
import sys
import time


def run(commands, timeout):
    """The first command that fails: (verdict, detail)."""
    for command in commands:
        try:
            done = subprocess.run(shlex.split(command), capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return "TIMEOUT", command
        if done.returncode == 0:
            continue
        text = (done.stdout + done.stderr).decode(errors="replace")
        if "could not compile" in text:
            return "UNVIABLE", command
        failed = [l.split()[1] for l in text.splitlines() if l.startswith("test ") and l.endswith("FAILED")]
        return "CAUGHT", ", ".join(failed[:3]) or command
    return "MISSED", ""


def main(argv):
    if "--" not in argv:
        sys.exit(__doc__)
    split = argv.index("--")
    options, commands = argv[1:split], argv[split + 1:]
    out_dir = options[0]
    timeout = float(options[options.index("--timeout") + 1]) if "--timeout" in options else 600
    outcomes = json.load(open(f"{out_dir}/outcomes.json"))["outcomes"]
    missed = [o for o in outcomes if o["summary"] == "MissedMutant"]
    baseline = run(commands, timeout)
    if baseline[0] != "MISSED":
        sys.exit(f"the unmutated tree fails: {baseline}")
    counts = {}
    for outcome in missed:
        mutant = outcome["scenario"]["Mutant"]
        diff = f"{out_dir}/{outcome['diff_path']}"
        subprocess.run(["patch", "-s", "-p0", mutant["file"], diff], check=True)
        started = time.time()
        try:
            verdict, detail = run(commands, timeout)
        finally:
            subprocess.run(["patch", "-s", "-R", "-p0", mutant["file"], diff], check=True)
        counts[verdict] = counts.get(verdict, 0) + 1
        print(f"{verdict:8} {mutant['name']} ({time.time() - started:.0f} s) {detail}", flush=True)
    print(", ".join(f"{n} {v.lower()}" for v, n in sorted(counts.items())))


if __name__ == "__main__":
    main(sys.argv)
