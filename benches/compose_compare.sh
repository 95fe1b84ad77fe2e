#!/usr/bin/env bash
# Composes N varied drafts three ways, interleaved over several rounds (issue 2, "Benchmarks"):
#   envoi   one `envoi compose --out-dir OUT d*.eml` process (release build)
#   python  benches/py_compose.py: the email package doing the same job, in one process, with
#           the compat32 policy (the faster one); PY_POLICY=default uses the modern API instead
#   floor   the I/O floor: one `cp` process copying as many files as envoi writes
#           (each draft as NAME.eml, plus a NAME.envelope.json of the expected size)
# and prints the medians of wall, user-CPU and system-CPU time, and the ratios python/envoi
# (user CPU, target >= 100) and envoi/floor (wall, target <= 2). Every run starts after a
# `sync`, so that no run pays for the previous one's writeback. Outputs are removed only at the
# end: ext4 skips recently deleted inodes when it allocates new ones (kernel `recently_deleted`,
# for up to 5 minutes), and after deleting 20,000 files that scan dominates every later run.
#
# Usage: benches/compose_compare.sh [DRAFTS] [ROUNDS]   (default 10000 drafts, 15 rounds)
# The drafts and outputs live in a temporary directory under $TMPDIR (default /tmp); set
# TMPDIR=/dev/shm to take the disk out of the wall times.
#
# envoi spends about 80% of its run in the kernel (opening, reading and writing 30,000 files).
# The kernel splits a process's CPU time into user and system by sampling at timer ticks, so
# envoi's ~30 ms of user time rests on a handful of 4 ms ticks, and one round's figure can be
# anywhere from 4 to 60 ms: hence 15 rounds by default, and medians. The file operations alone cost user time too (the system
# call wrappers, and caches refilled after each call): measured on this kind of machine, a build
# of envoi that only read the drafts and wrote the 20,000 files took about 20 ms of user time,
# and the `cp` floor shows 10-40 ms.
set -euo pipefail

n=${1:-10000}
rounds=${2:-15}
# shellcheck source=benches/common.sh
source "$(dirname "$0")/common.sh"

find_python
build_envoi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
helper="$root/benches/py_compose.py"

echo "generating $n drafts ..."
"$py" "$helper" gen "$n" "$tmp/drafts" "$tmp/envelopes"
draft_bytes=$(du -sb "$tmp/drafts" | cut -f1)

run() { # METHOD OUT: one timed run; appends "wall user" to $tmp/METHOD.times
    local method=$1 out=$2
    local timing=("$py" "$root/benches/timed.py" "$tmp/$method.times")
    case $method in
    envoi) (cd "$tmp/drafts" && "${timing[@]}" "$bin" compose --out-dir "$out" d*.eml) ;;
    python) "${timing[@]}" "$py" "$helper" compose "$tmp/drafts" "$out" "${PY_POLICY:-compat32}" ;;
    floor) mkdir "$out" && "${timing[@]}" cp -r "$tmp/drafts/." "$tmp/envelopes/." "$out/" ;;
    esac
    local files
    files=$(find "$out" -type f | wc -l)
    if ((files != 2 * n)); then
        echo "compose_compare.sh: $method wrote $files files, expected $((2 * n))" >&2
        exit 1
    fi
}

methods=(envoi python floor)
for ((r = 1; r <= rounds; r++)); do
    # Rotate the order so that no method always runs right after the same one.
    for ((k = 0; k < 3; k++)); do
        m=${methods[(r + k) % 3]}
        out="$tmp/out-$m-$r"
        sync
        run "$m" "$out"
        if ((r == 1)) && [[ $m != floor ]]; then
            bad=$("$py" "$helper" check "$tmp/envelopes" "$out")
            echo "round 1: $m envelopes differing from the generator's: $bad of $n"
        fi
    done
    echo "round $r/$rounds done"
done

median() { # FILE COLUMN
    cut -d' ' -f"$2" "$1" | median_of_lines
}

echo
echo "$n drafts ($draft_bytes bytes), $rounds interleaved rounds; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-8s %10s %10s %10s\n' method "wall s" "user s" "sys s"
declare -A wall user
for m in "${methods[@]}"; do
    wall[$m]=$(median "$tmp/$m.times" 1)
    user[$m]=$(median "$tmp/$m.times" 2)
    printf '%-8s %10s %10s %10s\n' "$m" "${wall[$m]}" "${user[$m]}" "$(median "$tmp/$m.times" 3)"
done
for m in "${methods[@]}"; do
    echo "$m wall per round: $(cut -d' ' -f1 "$tmp/$m.times" | tr '\n' ' ')"
    echo "$m user per round: $(cut -d' ' -f2 "$tmp/$m.times" | tr '\n' ' ')"
done
echo "(medians; python policy ${PY_POLICY:-compat32}; floor = one cp process copying ${n} drafts + ${n} envelope-sized files)"
# User + system CPU per run, as a median: for reference next to the user-only target, which
# rests on a few timer ticks for envoi (see the top of this file).
total() { # FILE
    awk '{ printf "%.3f\n", $2 + $3 }' "$1" | median_of_lines
}
# Times come from benches/timed.py (wait4 rusage, 1 ms shown); a 0.000 would make the ratio
# meaningless, so it counts as 1 ms and the ratio is shown as a lower bound.
awk -v pu="${user[python]}" -v eu="${user[envoi]}" -v ew="${wall[envoi]}" -v fw="${wall[floor]}" \
    -v pt="$(total "$tmp/python.times")" -v et="$(total "$tmp/envoi.times")" 'BEGIN {
    eu_ = (eu > 0) ? eu : 0.001
    cpu = pu / eu_
    io = ew / fw
    printf "python/envoi user CPU: %s%.1fx  (target >= 100x: %s)\n", (eu > 0) ? "" : ">= ", cpu, (cpu >= 100) ? "met" : "MISSED"
    printf "envoi/floor wall:      %.2fx  (target <= 2x: %s)\n", io, (io <= 2) ? "met" : "MISSED"
    printf "python/envoi user+system CPU: %.1fx  (for reference; no target)\n", pt / ((et > 0) ? et : 0.001)
}'
