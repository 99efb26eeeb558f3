#!/usr/bin/env python3
"""Run Shoal's test suites and print one summary CI can read.

Unit suites are cmocka binaries (build/<flavour>/tests/test_*); integration
suites are Python modules tests/integration/test_*.py that start real shoald
processes on 127.0.0.1. Each suite's wall time is printed, and the run ends
with the plain line "N passed, N failed".
"""
import argparse
import glob
import os
import re
import subprocess
import sys
import time

CMOCKA_PASSED = re.compile(r"^\[  PASSED  \] (\d+) test")
CMOCKA_FAILED = re.compile(r"^\[  FAILED  \] (\d+) test")
UNITTEST_RAN = re.compile(r"^Ran (\d+) tests? in")
UNITTEST_FAILED = re.compile(r"^FAILED \((.*)\)")


def run_suite(cmd, env, timeout):
    start = time.monotonic()
    try:
        proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=timeout)
        out, rc = proc.stdout.decode(errors="replace"), proc.returncode
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode(errors="replace") + "\n*** suite timed out\n"
        rc = -1
    return out, rc, time.monotonic() - start


def count_cmocka(out):
    passed = failed = 0
    for line in out.splitlines():
        m = CMOCKA_PASSED.match(line)
        if m:
            passed += int(m.group(1))
        m = CMOCKA_FAILED.match(line)
        if m:
            failed += int(m.group(1))
    return passed, failed


def count_unittest(out):
    ran = failed = 0
    for line in out.splitlines():
        m = UNITTEST_RAN.match(line)
        if m:
            ran = int(m.group(1))
        m = UNITTEST_FAILED.match(line)
        if m:
            for part in m.group(1).split(","):
                k, _, v = part.strip().partition("=")
                if k in ("failures", "errors"):
                    failed += int(v)
    return ran - failed, failed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.environ.get("SHOAL_BIN", "build/san"))
    ap.add_argument("--unit", action="store_true")
    ap.add_argument("--integration", action="store_true")
    ap.add_argument("--only", default="", help="substring filter on suite names")
    args = ap.parse_args()
    if not args.unit and not args.integration:
        args.unit = args.integration = True

    env = dict(os.environ)
    env["SHOAL_BIN"] = os.path.abspath(args.bin)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")

    suites = []
    if args.unit:
        for b in sorted(glob.glob(os.path.join(args.bin, "tests", "test_*"))):
            if not b.endswith(".d") and os.access(b, os.X_OK):
                suites.append(("unit", os.path.basename(b), [b], count_cmocka, 600))
    if args.integration:
        for m in sorted(glob.glob("tests/integration/test_*.py")):
            suites.append(("integration", os.path.basename(m)[:-3],
                           [sys.executable, "-m", "unittest", "-v", m.replace("/", ".")[:-3]],
                           count_unittest, 900))
    suites = [s for s in suites if args.only in s[1]]

    total_pass = total_fail = 0
    failed_suites = []
    t0 = time.monotonic()
    for kind, name, cmd, counter, timeout in suites:
        out, rc, secs = run_suite(cmd, env, timeout)
        passed, failed = counter(out)
        if rc != 0 and failed == 0:
            failed = 1  # crashed, sanitizer report or no summary: count it
        total_pass += passed
        total_fail += failed
        status = "ok" if failed == 0 else "FAIL"
        print(f"suite {kind}/{name}: {passed} passed, {failed} failed in {secs:.1f} s [{status}]",
              flush=True)
        if failed:
            failed_suites.append(name)
            sys.stdout.write(out[-20000:])
            sys.stdout.flush()
    print(f"all suites: {time.monotonic() - t0:.1f} s")
    if failed_suites:
        print("failed suites: " + ", ".join(failed_suites))
    print(f"{total_pass} passed, {total_fail} failed")
    if not suites:
        print("no test suites found", file=sys.stderr)
        return 1
    return 1 if total_fail else 0


if __name__ == "__main__":
    sys.exit(main())
