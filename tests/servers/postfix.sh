#!/bin/sh
# A private Postfix instance for envoi's relay tests, in its own directory: it never touches
# /etc/postfix, the system's queue or port 25, so it can run beside any other Postfix.
#
#   postfix.sh start DIR RELAYHOST_PORT SMTPD_PORT
#       writes DIR/main.cf and DIR/master.cf, starts the instance (no systemd: `postfix start`).
#       All mail goes to the relayhost [127.0.0.1]:RELAYHOST_PORT; its smtpd listens on
#       127.0.0.1:SMTPD_PORT and relays for loopback clients only. Log: DIR/maillog.
#       DIR and its parents must be searchable by the postfix user (not inside a 0700 temp dir).
#   postfix.sh stop DIR
#
# Its sendmail is `/usr/sbin/sendmail -C DIR` (root only: Postfix refuses an alternate
# configuration directory to other users unless the default main.cf lists it).
set -eu

die() { echo "postfix.sh: $*" >&2; exit 1; }

start() {
    dir=$1 relay_port=$2 smtpd_port=$3
    command -v postfix >/dev/null 2>&1 || [ -x /usr/sbin/postfix ] || die "Postfix is not installed (scripts/test installs it)"
    PATH=$PATH:/usr/sbin:/usr/lib/postfix/sbin
    mkdir -p "$dir/queue" "$dir/data"
    chown postfix "$dir/data"
    cat >"$dir/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $dir/queue
data_directory = $dir/data
mail_owner = postfix
setgid_group = postdrop
myhostname = postfix.test.example
mydomain = test.example
myorigin = \$myhostname
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
default_transport = smtp
relay_transport = relay
relayhost = [127.0.0.1]:$relay_port
smtp_tls_security_level = none
smtpd_tls_security_level = none
# No DNS at all: every peer is 127.0.0.1, and this machine's resolver is no place to send queries.
smtp_dns_support_level = disabled
smtpd_peername_lookup = no
maillog_file = $dir/maillog
maillog_file_prefixes = $dir
biff = no
append_dot_mydomain = no
delay_warning_time = 0
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
# Refused by the smtpd (the all-or-nothing tests): any recipient whose local part starts with
# `refused-`. More than 5 recipients in one transaction get 452 too many recipients.
smtpd_recipient_restrictions = check_recipient_access regexp:$dir/refused_recipients
smtpd_recipient_limit = 5
EOF
    printf '%s\n' '/^refused-/ REJECT 5.1.1 refused by the test map' >"$dir/refused_recipients"
    # The system's master.cf, with every service out of the chroot (its etc/ would need filling)
    # and the smtpd moved from port 25 to the test's loopback port.
    awk -v port="$smtpd_port" '
        /^#/ || NF == 0 { print; next }
        $1 == "smtp" && $2 == "inet" { print "127.0.0.1:" port " inet n - n - - smtpd"; next }
        $2 ~ /^(inet|unix|fifo|pass|unix-dgram)$/ && NF >= 8 { $5 = "n"; print; next }
        { print }
    ' /etc/postfix/master.cf >"$dir/master.cf"
    # Postfix's commands print nothing when stderr is not a terminal: the reasons are in maillog.
    postfix -c "$dir" start >>"$dir/start.log" 2>&1 || {
        cat "$dir/start.log" "$dir/maillog" >&2 2>/dev/null || true
        die "postfix -c $dir start failed"
    }
}

case "${1:-}" in
start) shift; [ $# -eq 3 ] || die "usage: postfix.sh start DIR RELAYHOST_PORT SMTPD_PORT"; start "$@" ;;
stop) [ $# -eq 2 ] || die "usage: postfix.sh stop DIR"; PATH=$PATH:/usr/sbin; postfix -c "$2" stop ;;
*) die "usage: postfix.sh start|stop ..." ;;
esac
