#!/usr/bin/env python3
"""Hostile-input probe of the `greenwave` binary (a release check; `tools/probe.sh` runs it).

Feeds the controller what a clumsy or hostile user, or a failing cabinet, would: mutated site
files (numbers, ring/barrier typos, permissive arrows, deleted, duplicated and truncated lines,
binary garbage), mutated board files, damaged state files, damaged event logs, and a full disk.
Counts, per class:

- panics  — exit status 101 or "panicked" on stderr;
- hangs   — no exit within the time limit;
- unsafe accepted — `check --site --board` said OK, but the controller, run on that site with the
  board's MMU card, latched a monitor fault (conflict, short yellow/red clearance, …), or its event
  log fails `greenwave verify` against the card: the check let an unsafe timing file through;
- check/run disagreements — `check` said OK and `sim` (or `run` on an all-fake board) refused;
- uncounted losses — on a full disk, rows generated minus rows in the file minus rows counted lost.

Usage: tools/probe.py [--seed N] [--sites N] [--boards N] [--states N] [--csvs N] [--bin PATH]
"""

import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SITE = os.path.join(ROOT, "board/sites/nema8-4leg.toml")
BOARD = os.path.join(ROOT, "board/host-fake.toml")

NUMBERS = ["0", "-1", "1", "0.0001", "3.3", "7", "255", "65536", "1e9", "99999999999999999999",
           "nan", "inf", "-inf", "1e308", "2.5", "100"]


class Tally:
    def __init__(self):
        self.runs = 0
        self.panics = []
        self.hangs = []
        self.unsafe = []
        self.disagree = []
        self.refused = 0
        self.accepted = 0

    def line(self, name):
        return (f"{name:<8} {self.runs:5d} inputs: {self.refused} refused, {self.accepted} accepted; "
                f"{len(self.panics)} panics, {len(self.hangs)} hangs, {len(self.unsafe)} unsafe accepted, "
                f"{len(self.disagree)} check/run disagreements")


def run(cmd, timeout):
    """(exit code or None on timeout, stdout+stderr)."""
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout, cwd=ROOT)
        return p.returncode, p.stdout.decode("utf-8", "replace") + p.stderr.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        return None, ""


def panicked(code, out):
    return code == 101 or code is not None and code < 0 or "panicked" in out


def mutate_text(text, rng, structure):
    lines = text.split("\n")
    for _ in range(rng.randint(1, 3)):
        kind = rng.choice(["number", "number", "structure", "delete", "dup", "swap", "truncate", "garbage",
                           "string", "permissive"])
        if kind == "number":
            toks = [m for m in re.finditer(r"(?<![\w.])-?\d+(\.\d+)?(?![\w.])", "\n".join(lines))]
            if toks:
                t = rng.choice(toks)
                s = "\n".join(lines)
                s = s[:t.start()] + rng.choice(NUMBERS) + s[t.end():]
                lines = s.split("\n")
        elif kind == "structure" and structure:
            phases = list(range(1, 9))
            rng.shuffle(phases)
            cut = sorted(rng.sample(range(1, 8), rng.randint(0, 3)))
            groups, last = [], 0
            for c in cut + [8]:
                groups.append(sorted(phases[last:c]))
                last = c
            key = rng.choice(["barriers", "rings"])
            lines = [f"{key} = {groups}" if l.startswith(key + " =") else l for l in lines]
        elif kind == "delete" and lines:
            del lines[rng.randrange(len(lines))]
        elif kind == "dup" and lines:
            i = rng.randrange(len(lines))
            lines.insert(i, lines[i])
        elif kind == "swap" and len(lines) > 1:
            i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        elif kind == "truncate":
            s = "\n".join(lines)
            lines = s[:rng.randrange(len(s) + 1)].split("\n")
        elif kind == "garbage":
            s = "\n".join(lines)
            i = rng.randrange(len(s) + 1)
            junk = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16))).decode("latin-1")
            lines = (s[:i] + junk + s[i:]).split("\n")
        elif kind == "string":
            strs = [i for i, l in enumerate(lines) if '"' in l]
            if strs:
                i = rng.choice(strs)
                lines[i] = re.sub(r'"[^"]*"', '"' + rng.choice(["", "x", "blue", "99", "N", "left"]) + '"', lines[i], 1)
        elif kind == "permissive" and structure:
            phase_lines = [i for i, l in enumerate(lines) if l.startswith("number = ")]
            if phase_lines:
                i = rng.choice(phase_lines)
                lines.insert(i + 1, f"permissive = {rng.randint(0, 9)}")
    return "\n".join(lines)


def monitor_fault(out):
    """A latched monitor finding in a sim summary (a clean stop or controller fault is not one)."""
    m = re.search(r"faults\s+(\d+)(?: \(flash latched: (.*)\))?", out)
    if not m or m.group(1) == "0":
        return None
    return m.group(2) or f"{m.group(1)} faults"


def probe_sites(args, rng, tmp):
    t = Tally()
    base = open(args.site_file, encoding="latin-1").read()
    for i in range(args.sites):
        path = os.path.join(tmp, f"site{i}.toml")
        text = mutate_text(base, rng, True)
        with open(path, "w", encoding="latin-1") as f:
            f.write(text)
        t.runs += 1
        code, out = run([args.bin, "check", "--site", path, "--board", args.check_board], 10)
        if code is None:
            t.hangs.append(path)
            continue
        if panicked(code, out):
            t.panics.append((path, out[-400:]))
            continue
        if code != 0:
            t.refused += 1
            continue
        t.accepted += 1
        log = os.path.join(tmp, f"site{i}.csv")
        board = [] if args.no_board_flag else ["--board", BOARD]
        code, out = run([args.bin, "sim", "--site", path] + board + ["--duration", str(args.sim_s),
                         "--volumes", str(round(rng.uniform(0.3, 1.6), 2)), "--seed", str(i),
                         "--events", log], 120)
        if code is None:
            t.hangs.append(path)
        elif panicked(code, out):
            t.panics.append((path, out[-400:]))
        elif code != 0 and "faults" not in out:
            t.disagree.append((path, out[-300:]))
        else:
            fault = monitor_fault(out)
            # The log itself against the board's card, by a checker that shares nothing with the
            # binary under test's monitor (it may be an older binary that trusts the site file).
            vcode, vout = run([args.verify_bin, "verify", "--board", BOARD, "--events", log], 60)
            if vcode != 0:
                fault = (fault or "") + " verify: " + vout.strip().splitlines()[-1][-200:] if vout.strip() else "verify failed"
            if fault:
                t.unsafe.append((path, fault))
        if os.path.exists(log):
            os.remove(log)
        keep = t.panics or t.hangs or t.unsafe or t.disagree
        if not keep:
            os.remove(path)
    return t


def probe_boards(args, rng, tmp):
    t = Tally()
    base = open(BOARD, encoding="latin-1").read()
    ran = 0
    for i in range(args.boards):
        path = os.path.join(tmp, f"board{i}.toml")
        text = mutate_text(base, rng, False).replace("target/host-fake", os.path.join(tmp, f"hf{i}"))
        with open(path, "w", encoding="latin-1") as f:
            f.write(text)
        t.runs += 1
        code, out = run([args.bin, "check", "--site", SITE, "--board", path], 10)
        if code is None:
            t.hangs.append(path)
            continue
        if panicked(code, out):
            t.panics.append((path, out[-400:]))
            continue
        if code != 0:
            t.refused += 1
            continue
        t.accepted += 1
        # An all-fake board can really run here: check and run must agree.
        if ran < args.board_runs and 'driver = "cdev"' not in text and 'driver = "rpi"' not in text:
            ran += 1
            code, out = run([args.bin, "run", "--site", SITE, "--board", path, "--duration", "1"], 60)
            if code is None:
                t.hangs.append(path)
            elif panicked(code, out):
                t.panics.append((path, out[-400:]))
            elif code != 0:
                t.disagree.append((path, out[-300:]))
    return t


def probe_states(args, rng, tmp):
    t = Tally()
    good = os.path.join(tmp, "state-good")
    code, out = run([args.bin, "sim", "--site", SITE, "--duration", "1800", "--state-dir", good], 120)
    if code != 0 or not os.path.isdir(good):
        print("probe: cannot make a state directory:", out[-300:])
        return t
    files = sorted(os.listdir(good))
    for i in range(args.states):
        d = os.path.join(tmp, f"state{i}")
        shutil.rmtree(d, ignore_errors=True)
        shutil.copytree(good, d)
        victim = os.path.join(d, rng.choice(files))
        data = bytearray(open(victim, "rb").read())
        how = rng.choice(["flip", "truncate", "append", "random", "empty", "dir", "huge_count"])
        if how == "flip" and data:
            for _ in range(rng.randint(1, 8)):
                data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        elif how == "truncate":
            data = data[:rng.randrange(len(data) + 1)]
        elif how == "append":
            data += bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
        elif how == "random":
            data = bytearray(rng.randrange(256) for _ in range(rng.randint(0, 512)))
        elif how == "empty":
            data = bytearray()
        elif how == "huge_count" and len(data) > 8:
            data[0:4] = b"\xff\xff\xff\x7f"
        if how == "dir":
            os.remove(victim)
            os.mkdir(victim)
        else:
            open(victim, "wb").write(bytes(data))
        t.runs += 1
        code, out = run([args.bin, "sim", "--site", SITE, "--duration", "300", "--state-dir", d], 60)
        if code is None:
            t.hangs.append(victim)
        elif panicked(code, out):
            t.panics.append((victim, out[-400:]))
        elif code == 0:
            t.accepted += 1
        else:
            t.refused += 1
        shutil.rmtree(d, ignore_errors=True)
    return t


def probe_csvs(args, rng, tmp):
    t = Tally()
    good = os.path.join(tmp, "good.csv")
    code, out = run([args.bin, "sim", "--site", SITE, "--duration", "1800", "--events", good], 120)
    if code != 0:
        print("probe: cannot make an event log:", out[-300:])
        return t
    base = open(good, encoding="latin-1").read()
    for i in range(args.csvs):
        path = os.path.join(tmp, f"log{i}.csv")
        text = mutate_text(base, rng, False)
        with open(path, "w", encoding="latin-1") as f:
            f.write(text)
        t.runs += 1
        for cmd in ([args.bin, "plot", "--events", path, "--out", os.path.join(tmp, f"p{i}.svg")],):
            code, out = run(cmd, 60)
            if code is None:
                t.hangs.append(path)
            elif panicked(code, out):
                t.panics.append((path, out[-400:]))
            elif code == 0:
                t.accepted += 1
            else:
                t.refused += 1
        for f in (path, os.path.join(tmp, f"p{i}.svg")):
            if os.path.exists(f) and not (t.panics or t.hangs):
                os.remove(f)
    return t


def probe_full_disk(args, tmp):
    """sim --events onto a 64 KiB tmpfs: every row generated is either in the file or counted lost."""
    mnt = os.path.join(tmp, "full")
    os.makedirs(mnt, exist_ok=True)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", mnt]).returncode != 0:
        return "full disk: skipped (cannot mount a tmpfs here; needs root)"
    try:
        log = os.path.join(mnt, "events.csv")
        code, out = run([args.bin, "sim", "--site", SITE, "--duration", "3600", "--events", log], 120)
        rows = max(0, sum(1 for _ in open(log, encoding="latin-1")) - 1) if os.path.exists(log) else 0
        nums = {k: int(v) for v, k in re.findall(r"(\d+) (generated|written|lost)", out)}
        if code is None or panicked(code, out):
            return f"full disk: FAILED (exit {code}): {out[-300:]}"
        uncounted = nums.get("generated", -1) - rows - nums.get("lost", 0)
        return (f"full disk: exit {code}, {nums.get('generated', '?')} rows generated, {rows} in the file, "
                f"{nums.get('lost', '?')} counted lost; {uncounted} uncounted losses")
    finally:
        subprocess.run(["umount", mnt])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--sites", type=int, default=300)
    ap.add_argument("--boards", type=int, default=200)
    ap.add_argument("--board-runs", type=int, default=15)
    ap.add_argument("--states", type=int, default=100)
    ap.add_argument("--csvs", type=int, default=100)
    ap.add_argument("--sim-s", type=int, default=1800)
    ap.add_argument("--bin", default=os.path.join(ROOT, "target/debug/greenwave"))
    ap.add_argument("--verify-bin", default=None, help="the binary whose `verify` checks the logs (default: --bin)")
    ap.add_argument("--no-board-flag", action="store_true", help="run `sim` without --board (a binary without the MMU card)")
    ap.add_argument("--site-file", default=SITE, help="the site file the mutations start from")
    ap.add_argument("--check-board", default=BOARD, help="the board file `check` is given (verify always uses the shipped card)")
    args = ap.parse_args()
    args.verify_bin = args.verify_bin or args.bin
    rng = random.Random(args.seed)
    tmp = tempfile.mkdtemp(prefix="greenwave-probe-")
    results = [("sites", probe_sites(args, rng, tmp)), ("boards", probe_boards(args, rng, tmp)),
               ("states", probe_states(args, rng, tmp)), ("csvs", probe_csvs(args, rng, tmp))]
    disk = probe_full_disk(args, tmp)
    bad = 0
    for name, t in results:
        print(t.line(name))
        for what, items in (("panic", t.panics), ("hang", t.hangs), ("unsafe", t.unsafe),
                            ("disagree", t.disagree)):
            for it in items[:5]:
                print(f"  {what}: {it}")
            bad += len(items)
    print(disk)
    if "FAILED" in disk or re.search(r" (-?[1-9]\d*) uncounted", disk):
        bad += 1
    print(f"probe: seed {args.seed}, files kept in {tmp}" if bad else f"probe: seed {args.seed}, all clean")
    if not bad:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
