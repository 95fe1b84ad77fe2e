#!/usr/bin/env python3
"""Helper for benches/relay_compare.sh.

  py_smtp.py port HOST
      Prints a free TCP port on HOST (the caller binds it right after).
  py_smtp.py wait HOST PORT SECONDS
      Waits until HOST:PORT accepts connections; exits 1 after SECONDS.
  py_smtp.py send HOST PORT LIST
      Submits every message of LIST over one SMTP connection with smtplib. Each LIST line is
      `FILE FROM RCPT...` where FILE holds the composed message (CRLF line endings).
"""

import smtplib
import socket
import sys
import time


def free_port(host):
    with socket.socket() as s:
        s.bind((host, 0))
        print(s.getsockname()[1])


def wait(host, port, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"py_smtp.py: nothing listens on {host}:{port} after {seconds} s")


def send(host, port, listing):
    with open(listing) as f:
        jobs = [line.split() for line in f if line.strip()]
    with smtplib.SMTP(host, port, timeout=30) as s:
        for path, sender, *rcpts in jobs:
            with open(path, "rb") as m:
                refused = s.sendmail(sender, rcpts, m.read())
            if refused:
                sys.exit(f"py_smtp.py: {path}: refused {refused}")


def main(argv):
    if len(argv) == 3 and argv[1] == "port":
        free_port(argv[2])
    elif len(argv) == 5 and argv[1] == "wait":
        wait(argv[2], int(argv[3]), float(argv[4]))
    elif len(argv) == 5 and argv[1] == "send":
        send(argv[2], int(argv[3]), argv[4])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
