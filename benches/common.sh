# shellcheck shell=bash
# What the benchmark scripts share, sourced by them: sets `root` (the repository, which also
# becomes the working directory) and offers the steps below, each setting the variable it names.

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

need_gnu_time() {
    if [[ ! -x /usr/bin/time ]]; then
        echo "${0##*/}: needs GNU time at /usr/bin/time (Debian package: time)" >&2
        exit 1
    fi
}

# sink: Postfix's smtp-sink; with `msmtp` as an argument, msmtp must be there too.
find_sink() {
    sink=$(command -v smtp-sink || echo /usr/sbin/smtp-sink)
    for tool in "$sink" "$@"; do
        if ! command -v "$tool" >/dev/null; then
            echo "${0##*/}: $tool is missing (Debian packages: postfix, msmtp)" >&2
            exit 1
        fi
    done
}

# py: the real interpreter (a version manager's shim would add its start-up to every run).
find_python() {
    if [[ -x /usr/bin/python3 ]]; then
        py=/usr/bin/python3
    else
        py=$(python3 -c 'import sys; print(sys.executable)')
    fi
}

# bin: envoi, built for release.
build_envoi() {
    cargo build --release --quiet
    bin=$(cargo metadata --format-version 1 --no-deps |
        sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')/release/envoi
}

# The median of the numbers on stdin, one per line (the mean of the middle two for an even count).
median_of_lines() {
    sort -g | awk '{ v[NR] = $1 } END {
        if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
