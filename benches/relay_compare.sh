#!/usr/bin/env bash
# Submits N messages to Postfix's smtp-sink on loopback three ways (issue 3, "Docs and benchmark"):
#   envoi   one `envoi send` of all N drafts (composes, then submits over one connection)
#   msmtp   one msmtp process per message (the message composed beforehand by envoi)
#   python  smtplib, all messages over one connection (composed beforehand by envoi)
# in interleaved rounds, and prints the median messages per second of each and the ratios.
# Target: envoi ahead of both.
#
# Needs smtp-sink (Debian package postfix) and msmtp (Debian package msmtp).
# Usage: benches/relay_compare.sh [MESSAGES] [ROUNDS]   (default 1000 messages, 3 rounds)
set -euo pipefail
shopt -s inherit_errexit

n=${1:-1000}
rounds=${2:-3}
host=127.0.0.1
# shellcheck source=benches/common.sh
source "$(dirname "$0")/common.sh"

find_sink msmtp
find_python
build_envoi
if ! "$bin" send --help >/dev/null 2>&1; then
    echo "relay_compare.sh: this envoi has no \`send\` command yet" >&2
    exit 1
fi

tmp=$(mktemp -d)
# smtp-sink stores what it receives (so that every message is counted) in memory where it can:
# on this kind of machine, creating files on disk is slower than the submissions themselves.
if [[ -d /dev/shm && -w /dev/shm ]]; then
    sinkdir=$(mktemp -d -p /dev/shm)
else
    sinkdir="$tmp/sink"
    mkdir "$sinkdir"
fi
sink_pid=
cleanup() {
    if [[ -n $sink_pid ]]; then
        kill "$sink_pid" 2>/dev/null || true
        wait "$sink_pid" 2>/dev/null || true
    fi
    rm -rf "$tmp" "$sinkdir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# smtp-sink drops to `nobody`, who must reach the dump directory.
chmod 755 "$tmp"
chmod 777 "$sinkdir"
port=$("$py" benches/py_smtp.py port "$host")
"$sink" -u nobody -d "$sinkdir/%M." "$host:$port" 100 >"$tmp/sink.log" 2>&1 &
sink_pid=$!
"$py" benches/py_smtp.py wait "$host" "$port" 10

echo "generating and composing $n drafts ..."
"$py" benches/py_compose.py gen "$n" "$tmp/drafts" "$tmp/envelopes"
(cd "$tmp/drafts" && "$bin" compose --out-dir "$tmp/composed" d*.eml)
# FILE FROM RCPT... per message, for msmtp and smtplib.
"$py" - "$tmp/composed" >"$tmp/list" <<'EOF'
import json, os, sys
d = sys.argv[1]
for name in sorted(os.listdir(d)):
    if name.endswith(".envelope.json"):
        env = json.load(open(os.path.join(d, name)))
        print(os.path.join(d, name[: -len(".envelope.json")] + ".eml"), env["from"], *env["to"])
EOF
if (($(wc -l <"$tmp/list") != n)); then
    echo "relay_compare.sh: expected $n composed messages" >&2
    exit 1
fi

cat >"$tmp/config.toml" <<EOF
[relay]
kind = "smtp"
host = "$host"
port = $port
tls = "none"
EOF

received() { find "$sinkdir" -type f | wc -l; }

run() { # METHOD: prints the elapsed seconds
    local t0 t1
    t0=$(date +%s.%N)
    case $1 in
    envoi)
        (cd "$tmp/drafts" && ENVOI_CONFIG="$tmp/config.toml" ENVOI_ADMIN_CONFIG=/nonexistent \
            timeout 300 "$bin" send d*.eml >"$tmp/envoi.out")
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

methods=(envoi msmtp python)
for ((r = 1; r <= rounds; r++)); do
    for ((k = 0; k < 3; k++)); do
        m=${methods[(r + k) % 3]}
        before=$(received)
        secs=$(run "$m")
        got=$(($(received) - before))
        if ((got != n)); then
            echo "relay_compare.sh: $m: smtp-sink received $got messages, expected $n" >&2
            exit 1
        fi
        echo "$secs" >>"$tmp/$m.times"
        rm -rf "${sinkdir:?}/"*
    done
    echo "round $r/$rounds done"
done

median() { # FILE
    median_of_lines <"$1"
}

echo
echo "$n messages to smtp-sink on $host, $rounds interleaved rounds; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-8s %10s %10s\n' method "median s" "msg/s"
declare -A rate
for m in "${methods[@]}"; do
    s=$(median "$tmp/$m.times")
    rate[$m]=$(awk -v n="$n" -v s="$s" 'BEGIN { printf "%.0f", n / s }')
    printf '%-8s %10s %10s\n' "$m" "$s" "${rate[$m]}"
done
for m in "${methods[@]}"; do
    echo "$m seconds per round: $(tr '\n' ' ' <"$tmp/$m.times")"
done
awk -v e="${rate[envoi]}" -v m="${rate[msmtp]}" -v p="${rate[python]}" 'BEGIN {
    printf "envoi/msmtp:  %.1fx\nenvoi/python: %.1fx\n", e / m, e / p
    printf "target (envoi ahead of both): %s\n", (e > m && e > p) ? "met" : "MISSED"
}'
