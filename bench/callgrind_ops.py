#!/usr/bin/env python3
"""Instruction counts per operation from the callgrind dumps `fpgadext bench` writes under
callgrind (bench/callgrind.sh; docs/performance.md "Instruction counts").

Each dump covers one measurement (all threads: app, broker, dext queue, model engine) and is
named "path/direction/size ops=N". Per operation = (total Ir - Ir spent spinning) / N, where
spinning is the inclusive cost of the wait loops whose length depends on timing, not on work:
PollPause (the dext's pause between polls, dext/polling.h) and IODelay, SpinUntil (emulated
dispatch queues) and Channel::SpinForRunEdge (the model's engine thread). Driver calls per
operation = calls of the emulated kernel's method entry (broker::ConnectMethod, which every
IOConnectCallMethod reaches) / N.
"""
import re
import sys

SPIN = ("PollPause", "IODelay", "SpinUntil", "SpinForRunEdge")
# Every driver call (IOConnectCallMethod and its scalar/struct forms, which may reach it by a
# tail jump callgrind does not see as a call) passes the emulated kernel's method entry.
CALLS = ("fpgadext::emu::broker::ConnectMethod(",)


def parse(path):
    names = {}
    desc = ""
    total = 0
    spin = 0
    calls = {c: 0 for c in CALLS}
    fn = ""
    cfn = ""
    pending = None  # the cfn of a "calls=" line; the next line is its inclusive cost
    events = []
    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("desc: Trigger:"):
                desc = line.split("Client Request:", 1)[-1].strip()
                continue
            if line.startswith("events:"):
                events = line.split()[1:]
                continue
            if line.startswith("summary:") or line.startswith("totals:"):
                total = int(line.split()[1])
                continue
            m = re.match(r"^(c?fn)=\((\d+)\)(?: (.*))?$", line)
            if m:
                kind, ident, name = m.groups()
                if name:
                    names[ident] = name
                name = names.get(ident, "")
                if kind == "fn":
                    fn = name
                else:
                    cfn = name
                continue
            if line.startswith("calls="):
                n = int(line.split("=", 1)[1].split()[0])
                pending = (cfn, n)
                continue
            if pending is not None:
                callee, n = pending
                pending = None
                parts = line.split()
                cost = int(parts[1]) if len(parts) > 1 else 0
                if any(s in callee for s in SPIN) and not any(s in fn for s in SPIN):
                    spin += cost
                for c in CALLS:
                    if callee.startswith(c) and not fn.startswith(c):
                        calls[c] += n
    return desc, total, spin, calls


def main(files):
    rows = []
    for path in files:
        desc, total, spin, calls = parse(path)
        m = re.match(r"^(\S+) ops=(\d+)$", desc)
        if not m:
            continue  # the final dump at exit, or another trigger
        label, ops = m.group(1), int(m.group(2))
        if any(r[0] == label for r in rows):
            continue  # baselines measured again by a later run
        rows.append((label, ops, total, spin, calls))
    print(f"{'operation (path/dir/size)':<36} {'ops':>6} {'Ir/op':>10} {'spin Ir/op':>11} "
          f"{'calls/op':>8}")
    for label, ops, total, spin, calls in rows:
        work = (total - spin) / ops
        print(f"{label:<36} {ops:>6} {work:>10.0f} {spin / ops:>11.0f} "
              f"{calls[CALLS[0]] / ops:>8.2f}")


if __name__ == "__main__":
    main(sys.argv[1:])
