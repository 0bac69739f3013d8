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

"Ours" is the part of the work done in our own code (source files under lib/, dext/, engine/,
protocol/ and include/ of this repository; self cost, spin loops left out): what a Mac runs too.
The rest is the emulation (emu/, models/, the iig glue generated into the build tree), the C and
C++ libraries and the benchmark itself. `--csv FILE` writes operation, ops, ir_per_op,
ours_ir_per_op, spin_ir_per_op, calls_per_op: `fpgadext bench --cpu-ir FILE` turns
ours_ir_per_op into the CPU term of its predicted column (docs/performance.md "Host-cost model").
"""
import os
import re
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")) + "/"
OURS = tuple(ROOT + d for d in ("lib/", "dext/", "engine/", "protocol/", "include/"))

# Ring::PollCompletions: the app's wait for a ring completion is a loop of it (its one call that
# finds the completion is a few dozen instructions, left out with the rest).
SPIN = ("PollPause", "IODelay", "SpinUntil", "SpinForRunEdge", "fpgadext::Ring::PollCompletions(")
# Every driver call (IOConnectCallMethod and its scalar/struct forms, which may reach it by a
# tail jump callgrind does not see as a call) passes the emulated kernel's method entry.
CALLS = ("fpgadext::emu::broker::ConnectMethod(",)
# Posting a ring request (issue 14's "≤ 0.5 µs" target): the inclusive cost of the library's
# submit calls made from outside them (the doorbell's driver call, when a post rings it,
# included), per operation.
POST = ("fpgadext::Ring::SubmitRead(", "fpgadext::Ring::SubmitWrite(")


def parse(path):
    names = {}
    desc = ""
    total = 0
    spin = 0
    post = 0
    calls = {c: 0 for c in CALLS}
    fn = ""
    cfn = ""
    files = {}
    fl = ""  # the function's file
    current = ""  # the file of the cost lines that follow (fi/fe: inlined code)
    ours = 0
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
            m = re.match(r"^(fl|fi|fe|cfi|cfl)=\((\d+)\)(?: (.*))?$", line)
            if m:
                kind, ident, name = m.groups()
                if name:
                    # A build with CCACHE_BASEDIR records "<build>/../../<repo>/lib/…".
                    files[ident] = os.path.normpath(name)
                name = files.get(ident, "")
                if kind == "fl":
                    fl = current = name
                elif kind in ("fi", "fe"):
                    current = name
                continue
            m = re.match(r"^(c?fn)=\((\d+)\)(?: (.*))?$", line)
            if m:
                kind, ident, name = m.groups()
                if name:
                    names[ident] = name
                name = names.get(ident, "")
                if kind == "fn":
                    fn = name
                    current = fl
                else:
                    cfn = name
                continue
            if line.startswith("calls="):
                n = int(line.split("=", 1)[1].split()[0])
                pending = (cfn, n)
                continue
            if pending is None:
                parts = line.split()
                if (len(parts) > 1 and re.match(r"^[0-9+*-]", parts[0])
                        and current.startswith(OURS) and not any(x in fn for x in SPIN)):
                    ours += int(parts[1])
                continue
            if pending is not None:
                callee, n = pending
                pending = None
                parts = line.split()
                cost = int(parts[1]) if len(parts) > 1 else 0
                if any(s in callee for s in SPIN) and not any(s in fn for s in SPIN):
                    spin += cost
                if callee.startswith(POST) and not fn.startswith("fpgadext::Ring::Submit"):
                    post += cost
                for c in CALLS:
                    if callee.startswith(c) and not fn.startswith(c):
                        calls[c] += n
    return desc, total, spin, calls, ours, post


def main(args):
    csv = None
    if len(args) >= 2 and args[0] == "--csv":
        csv, args = args[1], args[2:]
    rows = []
    for path in args:
        desc, total, spin, calls, ours, post = parse(path)
        m = re.match(r"^(\S+) ops=(\d+)$", desc)
        if not m:
            continue  # the final dump at exit, or another trigger
        label, ops = m.group(1), int(m.group(2))
        if any(r[0] == label for r in rows):
            continue  # baselines measured again by a later run
        rows.append((label, ops, total, spin, calls, ours, post))
    print(f"{'operation (path/dir/size)':<36} {'ops':>6} {'Ir/op':>10} {'ours Ir/op':>10} "
          f"{'spin Ir/op':>11} {'calls/op':>8} {'post Ir/op':>10}")
    for label, ops, total, spin, calls, ours, post in rows:
        work = (total - spin) / ops
        print(f"{label:<36} {ops:>6} {work:>10.0f} {ours / ops:>10.0f} {spin / ops:>11.0f} "
              f"{calls[CALLS[0]] / ops:>8.2f} {post / ops:>10.0f}")
    if csv:
        with open(csv, "w") as f:
            f.write("operation,ops,ir_per_op,ours_ir_per_op,spin_ir_per_op,calls_per_op,"
                    "post_ir_per_op\n")
            for label, ops, total, spin, calls, ours, post in rows:
                f.write(f"{label},{ops},{(total - spin) / ops:.0f},{ours / ops:.0f},"
                        f"{spin / ops:.0f},{calls[CALLS[0]] / ops:.2f},{post / ops:.0f}\n")


if __name__ == "__main__":
    main(sys.argv[1:])
