#!/usr/bin/env bash
# Round trips per message over a slow link (issue 13, "One round trip per message"): N messages
# to Postfix's smtp-sink on loopback through benches/delay_proxy.py, which holds every chunk
# RTT/2 in each direction and counts the client's turns, three ways:
#   envoi   one `envoi send` of all N drafts (one connection, pipelined across messages)
#   python  smtplib, all messages over one connection
#   msmtp   one msmtp process (and connection) per message
# Prints, for each, round trips per message by the clock (elapsed / RTT / N) and by the
# proxy's count of client turns (connection set-up and QUIT included).
#
# Needs smtp-sink (Debian package postfix) and msmtp (Debian package msmtp). Not part of the
# test suite. Usage: benches/rtt_compare.sh [MESSAGES] [RTT_MS]   (default 20 messages, 40 ms)
set -euo pipefail
shopt -s inherit_errexit

n=${1:-20}
rtt=${2:-40}
host=127.0.0.1
# shellcheck source=benches/common.sh
source "$(dirname "$0")/common.sh"

find_sink msmtp
find_python
if [[ -n ${ENVOI_BIN:-} ]]; then
    bin=$ENVOI_BIN
else
    build_envoi
fi

tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do
        kill "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

sink_port=$("$py" benches/py_smtp.py port "$host")
"$sink" -u nobody "$host:$sink_port" 100 >"$tmp/sink.log" 2>&1 &
pids+=($!)
"$py" benches/py_smtp.py wait "$host" "$sink_port" 10
port=$("$py" benches/py_smtp.py port "$host")
"$py" benches/delay_proxy.py "$port" "$sink_port" "$rtt" "$tmp/stats" &
pids+=($!)
"$py" benches/py_smtp.py wait "$host" "$port" 10
: >"$tmp/stats"

mkdir "$tmp/drafts" "$tmp/composed"
for ((i = 0; i < n; i++)); do
    printf 'From: ann@example.org\nTo: bob%d@example.net\nCc: carol%d@example.com\nSubject: message %d\n\nHello %d.\n.a line with a dot\n' \
        "$i" "$i" "$i" "$i" >"$tmp/drafts/d$(printf %04d "$i").eml"
done
(cd "$tmp/drafts" && "$bin" compose --out-dir "$tmp/composed" d*.eml)
"$py" - "$tmp/composed" >"$tmp/list" <<'PY'
import json, os, sys
d = sys.argv[1]
for name in sorted(os.listdir(d)):
    if name.endswith(".envelope.json"):
        env = json.load(open(os.path.join(d, name)))
        print(os.path.join(d, name[: -len(".envelope.json")] + ".eml"), env["from"], *env["to"])
PY
printf '[relay]\nkind = "smtp"\nhost = "%s"\nport = %s\ntls = "none"\n' "$host" "$port" >"$tmp/config.toml"
chmod 600 "$tmp/config.toml"

run() { # METHOD: prints the elapsed seconds
    local t0 t1
    t0=$(date +%s.%N)
    case $1 in
    envoi)
        (cd "$tmp/drafts" && ENVOI_CONFIG="$tmp/config.toml" ENVOI_ADMIN_CONFIG=/nonexistent \
            timeout 300 "$bin" send d*.eml >/dev/null)
        ;;
    msmtp)
        while read -r file from rcpts; do
            # shellcheck disable=SC2086 # one argument per recipient
            timeout 30 msmtp --host="$host" --port="$port" --auth=off --tls=off -f "$from" -- $rcpts <"$file"
        done <"$tmp/list"
        ;;
    python) timeout 300 "$py" benches/py_smtp.py send "$host" "$port" "$tmp/list" ;;
    esac
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'
}

echo "$n messages (2 recipients each) to smtp-sink through a proxy adding ${rtt} ms of round trip"
printf '%-8s %10s %22s %22s\n' method seconds "RTT/message (clock)" "RTT/message (turns)"
for m in envoi python msmtp; do
    : >"$tmp/stats"
    secs=$(run "$m")
    sleep 0.2 # the proxy writes its count when the connection has closed on both sides
    turns=$(awk -F= '{ t += $2 } END { print t + 0 }' "$tmp/stats")
    awk -v m="$m" -v s="$secs" -v n="$n" -v r="$rtt" -v t="$turns" \
        'BEGIN { printf "%-8s %10.2f %22.2f %22.2f\n", m, s, s * 1000 / r / n, t / n }'
done
