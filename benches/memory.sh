#!/usr/bin/env bash
# Peak memory on a 50 MB draft: the maximum resident set size reported by GNU time, divided by
# the draft's size. `envoi compose` (issue 2, "Benchmarks"): at most 2x the draft. `envoi send`
# to Postfix's smtp-sink on loopback (issue 13, "Streaming"): at most 1.5x the draft.
#
# Needs smtp-sink (Debian package postfix) for the send case.
# Usage: benches/memory.sh [SIZE_MB]   (default 50); ENVOI_BIN=PATH measures another build.
set -euo pipefail

size_mb=${1:-50}
# shellcheck source=benches/common.sh
source "$(dirname "$0")/common.sh"

need_gnu_time
find_python
if [[ -n ${ENVOI_BIN:-} ]]; then
    bin=$ENVOI_BIN
else
    build_envoi
fi
find_sink

tmp=$(mktemp -d)
sink_pid=
cleanup() {
    if [[ -n $sink_pid ]]; then
        kill "$sink_pid" 2>/dev/null || true
        wait "$sink_pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

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

# smtp-sink discards what it receives (no dump: the disk is not what is measured).
port=$("$py" benches/py_smtp.py port 127.0.0.1)
"$sink" -u nobody 127.0.0.1:"$port" 10 >"$tmp/sink.log" 2>&1 &
sink_pid=$!
"$py" benches/py_smtp.py wait 127.0.0.1 "$port" 10
printf '[relay]\nkind = "smtp"\nhost = "127.0.0.1"\nport = %s\ntls = "none"\n' "$port" >"$tmp/config.toml"
chmod 600 "$tmp/config.toml"

printf '%-8s %-6s %12s %14s %7s %s\n' command draft bytes "max RSS (KiB)" ratio target
status=0
measure() { # COMMAND KIND LIMIT
    local f="$tmp/big-$2.eml" bytes rss ratio ok
    bytes=$(stat -c %s "$f")
    ENVOI_CONFIG="$tmp/config.toml" ENVOI_ADMIN_CONFIG=/nonexistent \
        /usr/bin/time -v -o "$tmp/time.txt" "$bin" "$1" "$f" >/dev/null
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$tmp/time.txt")
    ratio=$(awk -v r="$rss" -v b="$bytes" 'BEGIN { printf "%.2f", r * 1024 / b }')
    ok=$(awk -v x="$ratio" -v l="$3" 'BEGIN { print (x <= l) ? "met (<= " l "x)" : "MISSED (> " l "x)" }')
    [[ $ok == met* ]] || status=1
    printf '%-8s %-6s %12d %14d %6sx %s\n' "$1" "$2" "$bytes" "$rss" "$ratio" "$ok"
}
for kind in lf crlf; do measure compose "$kind" 2.0; done
for kind in lf crlf; do measure send "$kind" 1.5; done
exit $status
