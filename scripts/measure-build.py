#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Measures how long a kernel build takes, also when it cannot run in one go.

    python3 scripts/measure-build.py LEDGER -- COMMAND...

Runs COMMAND (e.g. `kpgo instrument --config debian ...`: a resumable build) and keeps a ledger
of its cost in LEDGER: wall seconds, and CPU seconds of the command and everything under it,
sampled every 30 seconds, so that a run stopped from outside (a machine's session ending) loses
at most the last interval. Run the same line again to go on; the ledger adds the runs up. When
COMMAND succeeds, the totals are printed, with the CPU time spread over this machine's cores:
the wall time an otherwise idle machine would take, which a shared machine's wall time is not.

Started under `nice -n 19` it uses only what other work leaves idle, so a measurement of many
hours can soak up idle time over several sessions.
"""
import json
import os
import signal
import subprocess
import sys
import time

SAMPLE_SECONDS = float(os.environ.get("KPGO_MEASURE_SAMPLE_SECONDS", "30"))
TICKS = os.sysconf("SC_CLK_TCK")


def process_table():
    """pid -> (parent pid, CPU ticks: its own and its reaped children's)."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        # After the command name: state ppid ... utime(12) stime(13) cutime(14) cstime(15).
        table[int(entry)] = (int(fields[1]), sum(int(f) for f in fields[11:15]))
    return table


def tree_cpu_seconds(root):
    """CPU time of root and its descendants, the reaped ones through their parents' totals."""
    table = process_table()
    members, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, _) in table.items():
            if ppid == parent and pid not in members:
                members.add(pid)
                frontier.append(pid)
    return sum(table[pid][1] for pid in members if pid in table) / TICKS


def load(ledger):
    try:
        with open(ledger) as f:
            return json.load(f)
    except FileNotFoundError:
        return {"runs": []}


def save(ledger, state):
    temporary = ledger + ".tmp"
    with open(temporary, "w") as f:
        json.dump(state, f, indent=2)
    os.replace(temporary, ledger)


def main():
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        sys.exit(__doc__.split("\n\n")[1])
    ledger, command = sys.argv[1], sys.argv[3:]
    state = load(ledger)
    if state.get("finished"):
        sys.exit(f"measure-build: {ledger} records a finished build; remove it to measure again")
    run = {"command": command, "started": time.time(), "wall": 0.0, "cpu": 0.0}
    state["runs"].append(run)
    save(ledger, state)
    child = subprocess.Popen(command, start_new_session=True)
    signal.signal(signal.SIGTERM, lambda *_: os.killpg(child.pid, signal.SIGTERM))
    while child.poll() is None:
        run["wall"] = time.time() - run["started"]
        run["cpu"] = max(run["cpu"], tree_cpu_seconds(child.pid))
        save(ledger, state)
        try:
            child.wait(timeout=SAMPLE_SECONDS)
        except subprocess.TimeoutExpired:
            pass
    run["wall"] = time.time() - run["started"]
    # Exact now: the command's whole tree is reaped, and this is our only child.
    children = os.times()
    run["cpu"] = max(run["cpu"], children.children_user + children.children_system)
    run["exit"] = child.returncode
    state["finished"] = child.returncode == 0
    save(ledger, state)
    if child.returncode != 0:
        sys.exit(f"measure-build: the command failed ({child.returncode}); run it again to go on")
    wall = sum(r["wall"] for r in state["runs"])
    cpu = sum(r["cpu"] for r in state["runs"])
    cores = os.cpu_count()
    print(f"{len(state['runs'])} runs: {wall:.0f} s wall, {cpu:.0f} s CPU, "
          f"{cpu / cores:.0f} s of CPU spread over {cores} cores")


if __name__ == "__main__":
    main()
