#!/usr/bin/env python3
"""Runs a command and appends "WALL USER SYS" (seconds, 3 decimals) to a file.

Usage: timed.py OUTFILE COMMAND [ARG ...]

GNU time prints user time in 10 ms steps, which is a quarter of envoi's whole user time for
10,000 drafts; wait4's rusage has microsecond resolution (the kernel still splits user and
system time by sampling, so medians of several runs are what to quote).
"""
import os
import subprocess
import sys
import time

out, cmd = sys.argv[1], sys.argv[2:]
start = time.monotonic()
proc = subprocess.Popen(cmd)
_, status, usage = os.wait4(proc.pid, 0)
wall = time.monotonic() - start
with open(out, "a") as f:
    f.write(f"{wall:.3f} {usage.ru_utime:.3f} {usage.ru_stime:.3f}\n")
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
