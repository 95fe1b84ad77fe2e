#!/usr/bin/env bash
# Peak memory of `envoi compose` on a 50 MB draft (issue 2, "Benchmarks"): the maximum resident
# set size reported by GNU time, divided by the draft's size. Target: at most 2x the draft.
#
# Usage: benches/memory.sh [SIZE_MB]   (default 50)
set -euo pipefail

size_mb=${1:-50}
# shellcheck source=benches/common.sh
source "$(dirname "$0")/common.sh"

need_gnu_time
build_envoi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# A short header with a Bcc, then 76-character body lines, up to SIZE_MB MiB.
make_draft() { # EOL OUT
    awk -v eol="$1" -v size=$((size_mb * 1024 * 1024)) 'BEGIN {
        printf "From: ann@example.org%sTo: bob@example.net, carol@example.com%s", eol, eol
        printf "Bcc: ivan@example.org%sSubject: big%s%s", eol, eol, eol
        n = 0; total = 100
        while (total + 80 < size) {
            line = sprintf("%010d The quick brown fox jumps over the lazy dog. 0123456789 abcdefghijklm", n++)
            printf "%s%s", substr(line, 1, 76), eol
            total += 76 + length(eol)
        }
    }' >"$2"
}
make_draft $'\n' "$tmp/big-lf.eml"
make_draft $'\r\n' "$tmp/big-crlf.eml"

printf '%-10s %12s %14s %7s %s\n' draft bytes "max RSS (KiB)" ratio target
status=0
for kind in lf crlf; do
    f="$tmp/big-$kind.eml"
    bytes=$(stat -c %s "$f")
    /usr/bin/time -v -o "$tmp/time.txt" "$bin" compose "$f" >/dev/null
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$tmp/time.txt")
    ratio=$(awk -v r="$rss" -v b="$bytes" 'BEGIN { printf "%.2f", r * 1024 / b }')
    ok=$(awk -v x="$ratio" 'BEGIN { print (x <= 2.0) ? "met (<= 2x)" : "MISSED (> 2x)" }')
    [[ $ok == met* ]] || status=1
    printf '%-10s %12d %14d %6sx %s\n' "$kind" "$bytes" "$rss" "$ratio" "$ok"
done
exit $status
