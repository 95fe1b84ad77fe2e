#!/usr/bin/env python3
"""A real SMTP server (aiosmtpd) on 127.0.0.1 for envoi's relay tests.

One script, modes chosen by arguments:

  --tls none|starttls|implicit   with --cert/--key (a certificate the test generated)
  --auth USER:PASSWORD           AUTH PLAIN/LOGIN required before MAIL
  --oauth USER:TOKEN             AUTH XOAUTH2 and OAUTHBEARER (RFC 7628) for that access token; any
                                 other token fails as Gmail fails it: a 334 challenge carrying a JSON
                                 error, the client's (empty, or ^A) answer, then 535
  --smtputf8                     advertise SMTPUTF8
  --refuse ADDR                  550 for that RCPT TO (repeatable)
  --fault NAME                   see FAULTS below
  --fault-after N                the fault hits the message after N accepted ones (default 0)
  --record FILE                  one JSON object per line: connections and received messages
  --timeout SECONDS              stop by itself after this long (also stops when its parent dies)

It listens on a free port and prints that port, alone on a line, once it accepts connections.

Records:
  {"event": "connect", "conn": N}
  {"event": "auth", "mechanism": M, "ok": bool, "initial": bool, "error_answer": TEXT|null}  (--oauth only)
  {"event": "message", "conn": N, "tls": bool, "auth": LOGIN|null, "helo": EHLO-NAME, "mail_from": ..., "rcpt_tos": [...],
   "mail_options": [...], "content": TEXT}     (content: the bytes received, un-dot-stuffed, CRLF kept,
                                                 decoded as UTF-8)
"""

import argparse
import asyncio
import base64
import json
import os
import ssl
import sys
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

# Faults, all injected from this one server. aiosmtpd has no switch for any of them, so each is a
# small piece of handler or protocol code, noted here:
#   421-data     reply "421" to the end of DATA, then close the connection (a server shutting down
#                in the middle of a session). Done in handle_DATA.
#   drop-data    abort the TCP connection (RST) once the message data has arrived, before any reply
#                to DATA. Done in handle_DATA with transport.abort().
#   stall-data   never reply to the end of DATA (the client must time out). Done in handle_DATA.
#   stall-greeting  accept the TCP connection and never send the 220 greeting. aiosmtpd always
#                greets, so a do-nothing asyncio protocol stands in for it.
FAULTS = ("421-data", "drop-data", "stall-data", "stall-greeting")


class Recorder:
    def __init__(self, path):
        self.path = path
        self.connections = 0

    def write(self, obj):
        if self.path is None:
            return
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(obj, ensure_ascii=False) + "\n")
            f.flush()


class Handler:
    def __init__(self, args, recorder):
        self.args = args
        self.recorder = recorder
        self.accepted = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.args.refuse:
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown in local recipient table" % address
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        fault = self.args.fault if self.accepted >= self.args.fault_after else None
        if fault == "421-data":
            asyncio.get_running_loop().call_soon(server.transport.close)
            return "421 4.3.2 Service shutting down, closing transmission channel"
        if fault == "drop-data":
            server.transport.abort()
            await asyncio.sleep(3600)
        if fault == "stall-data":
            await asyncio.sleep(3600)
        self.accepted += 1
        self.recorder.write(
            {
                "event": "message",
                "conn": getattr(server, "conn_no", None),
                "tls": server.transport.get_extra_info("ssl_object") is not None,
                "auth": session.auth_data if session.authenticated else None,
                "helo": session.host_name,
                "mail_from": envelope.mail_from,
                "rcpt_tos": envelope.rcpt_tos,
                "mail_options": envelope.mail_options,
                "content": _text(envelope.original_content),
            }
        )
        return "250 2.0.0 Ok: queued as T%d" % self.accepted


# The error Gmail sends in its 334 challenge when a token is refused.
GMAIL_ERROR = b'{"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}'


class OAuthHandler(Handler):
    """Handler with the OAuth 2 mechanisms (aiosmtpd has none): auth_NAME methods of the handler
    become AUTH mechanisms."""

    async def auth_XOAUTH2(self, server, args):
        return await self._oauth(server, args, "XOAUTH2", b"")

    async def auth_OAUTHBEARER(self, server, args):
        return await self._oauth(server, args, "OAUTHBEARER", b"\x01")

    async def _oauth(self, server, args, mechanism, error_answer):
        initial = len(args) > 1
        if initial:
            blob = base64.b64decode(args[1])
        else:
            blob = await server.challenge_auth("")
            if not isinstance(blob, bytes):
                return AuthResult(success=False, handled=True)
        user, token = _oauth_fields(mechanism, blob)
        want_user, _, want_token = self.args.oauth.partition(":")
        ok = user == want_user and token == want_token
        answer = None
        if not ok:
            # Gmail: 334 with the error, the client answers (empty line for XOAUTH2, ^A for
            # OAUTHBEARER), then 535.
            got = await server.challenge_auth(GMAIL_ERROR)
            answer = got.decode("latin-1") if isinstance(got, bytes) else None
            if got != error_answer:
                answer = "unexpected: %r" % (got,)
        self.recorder.write(
            {"event": "auth", "mechanism": mechanism, "ok": ok, "initial": initial, "error_answer": answer}
        )
        return AuthResult(success=ok, handled=False, auth_data=user if ok else None)


def _oauth_fields(mechanism, blob):
    """(user, token) of an XOAUTH2 or OAUTHBEARER initial response."""
    text = blob.decode("utf-8", "replace")
    parts = text.split("\x01")
    user, token = None, None
    if mechanism == "OAUTHBEARER":
        gs2 = parts[0].split(",")
        for p in gs2:
            if p.startswith("a="):
                user = p[2:].replace("=2C", ",").replace("=3D", "=")
        parts = parts[1:]
    for p in parts:
        if p.startswith("user="):
            user = p[5:]
        if p.startswith("auth=Bearer "):
            token = p[len("auth=Bearer "):]
    return user, token


def _text(b):
    if b is None:
        return None
    if isinstance(b, str):
        return b
    return b.decode("utf-8", errors="replace")


class CountingSMTP(SMTP):
    """aiosmtpd's SMTP, numbering its connections (STARTTLS calls connection_made a second time on
    the same protocol object, so the number is given once per object)."""

    recorder = None

    def connection_made(self, transport):
        if not hasattr(self, "conn_no"):
            self.recorder.connections += 1
            self.conn_no = self.recorder.connections
            self.recorder.write({"event": "connect", "conn": self.conn_no})
        super().connection_made(transport)


class Silent(asyncio.Protocol):
    """stall-greeting: accepts the connection, reads and says nothing."""

    def __init__(self, recorder):
        self.recorder = recorder

    def connection_made(self, transport):
        self.recorder.connections += 1
        self.recorder.write({"event": "connect", "conn": self.recorder.connections})
        self.transport = transport


def make_authenticator(user, password):
    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.login == user.encode() and auth_data.password == password.encode()
        # handled=False: let aiosmtpd send 235/535 itself (handled=True would send nothing).
        login = auth_data.login.decode("utf-8", "replace") if isinstance(auth_data, LoginPassword) else None
        return AuthResult(success=ok, handled=False, auth_data=login)

    return authenticator


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tls", choices=("none", "starttls", "implicit"), default="none")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--auth", metavar="USER:PASSWORD")
    p.add_argument("--oauth", metavar="USER:TOKEN")
    p.add_argument("--smtputf8", action="store_true")
    p.add_argument("--refuse", action="append", default=[], metavar="ADDR")
    p.add_argument("--fault", choices=FAULTS)
    p.add_argument("--fault-after", type=int, default=0)
    p.add_argument("--record", metavar="FILE")
    p.add_argument("--timeout", type=float, default=120.0)
    p.add_argument("--hostname", default="smtpd.test.example")
    args = p.parse_args(argv)
    args.refuse = [a.lower() for a in args.refuse]
    if args.tls != "none" and not (args.cert and args.key):
        p.error("--tls %s needs --cert and --key" % args.tls)
    return args


async def watch(parent, timeout):
    """Stop after `timeout` seconds, or as soon as the process that started us is gone."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline and os.getppid() == parent:
        await asyncio.sleep(0.2)


async def main(argv):
    args = parse_args(argv)
    # aiosmtpd warns (rightly, in general) about AUTH without STARTTLS on the implicit-TLS port.
    warnings.simplefilter("ignore")
    parent = os.getppid()
    recorder = Recorder(args.record)
    handler = (OAuthHandler if args.oauth else Handler)(args, recorder)

    ctx = None
    if args.tls != "none":
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(args.cert, args.key)

    kwargs = dict(hostname=args.hostname, enable_SMTPUTF8=args.smtputf8, timeout=args.timeout)
    if args.tls == "starttls":
        kwargs.update(tls_context=ctx, require_starttls=True)
    if args.auth:
        user, _, password = args.auth.partition(":")
        kwargs.update(authenticator=make_authenticator(user, password))
    if args.auth or args.oauth:
        kwargs.update(auth_required=True)
        if args.tls == "implicit":
            # aiosmtpd only knows about STARTTLS; with its default it would never offer AUTH here.
            kwargs.update(auth_require_tls=False)

    CountingSMTP.recorder = recorder

    def factory():
        if args.fault == "stall-greeting":
            return Silent(recorder)
        return CountingSMTP(handler, **kwargs)

    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        factory, host="127.0.0.1", port=0, ssl=ctx if args.tls == "implicit" else None
    )
    port = server.sockets[0].getsockname()[1]
    print(port, flush=True)
    await watch(parent, args.timeout)
    server.close()


if __name__ == "__main__":
    try:
        asyncio.run(main(sys.argv[1:]))
    except KeyboardInterrupt:
        pass
