#!/usr/bin/env python3
"""Helper for benches/compose_compare.sh.

  py_compose.py gen N DRAFTS ENVELOPES [SEED]
      Writes N varied drafts DRAFTS/dNNNNN.eml, and for each the envelope envoi is expected
      to derive as ENVELOPES/dNNNNN.envelope.json (also the second file set of the I/O floor).
  py_compose.py compose DRAFTS OUT [compat32|default]
      The Python email-package pipeline doing envoi's job, in one process: parse, envelope from
      Sender/From and To/Cc/Bcc (deduplicated, domains lower-cased), drop Bcc, add
      Message-ID/Date/X-Mailer where missing, write OUT/NAME.eml (CRLF) and
      OUT/NAME.envelope.json. The policy is compat32 (the parser's default and the faster one,
      so the stricter comparison) or default (the modern API: email.policy.default / SMTP).
  py_compose.py check EXPECTED OUT
      Counts the NAME.envelope.json files of OUT that differ from EXPECTED's.
"""

import email.parser
import email.policy
import email.utils
import json
import os
import random
import sys

FIRST = ["Ann", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy",
         "Mallory", "Niaj", "Olivia", "Peggy", "Rupert", "Sybil", "Trent", "Victor", "Walter"]
LAST = ["Smith", "Jones", "Doe", "Martin", "Garcia", "Dupont", "Muller", "Rossi", "Novak"]
DOMAINS = ["example.org", "example.net", "example.com", "mail.example.org", "sub.example.net",
           "lists.example.com", "corp.example"]
WORDS = ("the quick brown fox jumps over lazy dog lorem ipsum dolor sit amet consectetur "
         "adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua "
         "meeting agenda report quarterly budget review notes draft attached please see").split()


def gen(n, drafts, envelopes, seed=1):
    rnd = random.Random(seed)
    os.makedirs(drafts, exist_ok=True)
    os.makedirs(envelopes, exist_ok=True)

    def person():
        first, last = rnd.choice(FIRST), rnd.choice(LAST)
        local = rnd.choice([first.lower(), f"{first.lower()}.{last.lower()}", f"{first[0].lower()}{last.lower()}{rnd.randint(1, 99)}"])
        domain = rnd.choice(DOMAINS)
        return first, last, local, domain

    def mailbox(p):
        first, last, local, domain = p
        shown = domain.upper() if rnd.random() < 0.05 else domain
        addr = f"{local}@{shown}"
        style = rnd.random()
        if style < 0.35:
            return f"{first} {last} <{addr}>"
        if style < 0.5:
            return f'"{last}, {first}" <{addr}>'
        if style < 0.6:
            return f"{addr} ({first} at work)"
        if style < 0.65:
            return f"=?utf-8?q?{first}_M=C3=BCller?= <{addr}>"
        return addr

    def addr_list(k):
        people = [person() for _ in range(k)]
        parts = [mailbox(p) for p in people]
        if k >= 3 and rnd.random() < 0.15:
            parts = [f"Team: {', '.join(parts[:2])};"] + parts[2:]
        return people, parts

    def fold(name, parts):
        line = f"{name}: "
        lines = []
        for i, part in enumerate(parts):
            sep = ", " if i < len(parts) - 1 else ""
            if len(line) + len(part) > 76 and line.strip() != f"{name}:":
                lines.append(line.rstrip())
                line = " "
            line += part + sep
        lines.append(line)
        return lines

    for i in range(n):
        eol = "\r\n" if rnd.random() < 0.1 else "\n"
        sender = person()
        to_people, to_parts = addr_list(rnd.randint(1, 5))
        cc_people, cc_parts = addr_list(rnd.choice([0, 0, 1, 2, 3, 4]))
        if to_people and rnd.random() < 0.1:  # a duplicate recipient, another letter case
            dup = to_people[0]
            cc_people.append(dup)
            cc_parts.append(f"{dup[2]}@{dup[3].upper()}")
        bcc_people, bcc_parts = addr_list(rnd.choice([0, 1, 1, 1, 2, 3]))
        head = [f"From: {sender[0]} {sender[1]} <{sender[2]}@{sender[3]}>"]
        head += fold("To", to_parts)
        if cc_parts:
            head += fold("Cc", cc_parts)
        if bcc_parts:
            head += fold("Bcc", bcc_parts)
        subject = " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(2, 9)))
        if rnd.random() < 0.1:
            subject = "=?utf-8?q?R=C3=A9union?= " + subject
        head.append(f"Subject: {subject}")
        if rnd.random() < 0.1:
            head.append(f"Message-ID: <pre.{i}@{sender[3]}>")
        if rnd.random() < 0.1:
            head.append("Date: Thu, 26 Nov 2026 10:00:00 +0100")
        if rnd.random() < 0.3:
            head.append(f"In-Reply-To: <{rnd.randint(1, 10**9)}@{rnd.choice(DOMAINS)}>")
        head += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8"]
        body = []
        for _ in range(rnd.choice([3, 10, 20, 40, 60, 100])):
            line, words = "", rnd.randint(3, 12)
            for _ in range(words):
                line += rnd.choice(WORDS) + " "
            body.append(line.rstrip())
        text = eol.join(head) + eol + eol + eol.join(body) + eol
        name = f"d{i:05d}"
        with open(os.path.join(drafts, name + ".eml"), "w", newline="") as f:
            f.write(text)
        seen, rcpts = set(), []
        for p in to_people + cc_people + bcc_people:
            a = f"{p[2]}@{p[3]}"
            if a not in seen:
                seen.add(a)
                rcpts.append(a)
        env = {"from": f"{sender[2]}@{sender[3]}", "to": rcpts, "smtputf8": False}
        with open(os.path.join(envelopes, name + ".envelope.json"), "w") as f:
            f.write(json.dumps(env, separators=(",", ":")) + "\n")


def canonical(addr):
    local, _, domain = addr.rpartition("@")
    domain = domain.lower()
    if not domain.isascii():
        domain = domain.encode("idna").decode("ascii")
    return f"{local}@{domain}"


def compose(drafts, out, which="compat32"):
    os.makedirs(out, exist_ok=True)
    if which == "compat32":
        parser = email.parser.BytesParser(policy=email.policy.compat32)
        policy = email.policy.compat32.clone(linesep="\r\n")
    elif which == "default":
        parser = email.parser.BytesParser(policy=email.policy.default)
        policy = email.policy.SMTP
    else:
        sys.exit(f"py_compose.py: unknown policy {which}; use compat32 or default")
    mailer = "py_compose/1"
    names = sorted(e.name for e in os.scandir(drafts) if e.name.endswith(".eml"))
    for name in names:
        with open(os.path.join(drafts, name), "rb") as f:
            msg = parser.parse(f)
        author = email.utils.getaddresses(msg.get_all("From", []))
        sender = email.utils.getaddresses(msg.get_all("Sender", [])) or author
        mail_from = canonical(sender[0][1])
        seen, rcpts = set(), []
        for field in ("To", "Cc", "Bcc"):
            for _, a in email.utils.getaddresses(msg.get_all(field, [])):
                if a:
                    a = canonical(a)
                    if a not in seen:
                        seen.add(a)
                        rcpts.append(a)
        del msg["Bcc"]
        if msg["Date"] is None:
            msg["Date"] = email.utils.formatdate(localtime=True)
        if msg["Message-ID"] is None:
            msg["Message-ID"] = email.utils.make_msgid(domain=mail_from.rpartition("@")[2])
        if msg["X-Mailer"] is None:
            msg["X-Mailer"] = mailer
        stem = name[:-4]
        with open(os.path.join(out, stem + ".eml"), "wb") as f:
            f.write(msg.as_bytes(policy=policy))
        env = {"from": mail_from, "to": rcpts, "smtputf8": not all(r.rpartition("@")[0].isascii() for r in rcpts)}
        with open(os.path.join(out, stem + ".envelope.json"), "w") as f:
            f.write(json.dumps(env, separators=(",", ":"), ensure_ascii=False) + "\n")


def check(expected, out):
    names = sorted(e.name for e in os.scandir(expected) if e.name.endswith(".envelope.json"))
    bad = 0
    for name in names:
        try:
            with open(os.path.join(out, name), "rb") as f:
                got = json.loads(f.read())
        except OSError:
            got = None
        with open(os.path.join(expected, name), "rb") as f:
            want = json.loads(f.read())
        bad += got != want
    print(bad)


def main(argv):
    if len(argv) >= 4 and argv[1] == "gen":
        gen(int(argv[2]), argv[3], argv[4], int(argv[5]) if len(argv) > 5 else 1)
    elif len(argv) in (4, 5) and argv[1] == "compose":
        compose(*argv[2:])
    elif len(argv) == 4 and argv[1] == "check":
        check(argv[2], argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
