"""A real SMTP server for the mail tests (aiosmtpd), on loopback.

  python3 smtp_sink.py --port P --log FILE [--auth USER:PASS] [--refuse ADDR]...
                       [--slow-data SECS] [--slow-rcpt-once SECS]

Each message it takes is appended to FILE as one JSON line: mail_from, rcpt_tos, data.
--slow-data writes the message first, then waits before answering 250 (a client killed
then has handed the message over without hearing back). --slow-rcpt-once waits at the first
RCPT of the first session only (a client killed then never reached DATA).
Prints "READY" when it listens.
"""

import argparse
import asyncio
import json
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--auth")
    p.add_argument("--refuse", action="append", default=[])
    p.add_argument("--slow-data", type=float, default=0)
    p.add_argument("--slow-rcpt-once", type=float, default=0)
    a = p.parse_args()
    slow_rcpt = [a.slow_rcpt_once]

    class Handler:
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            if slow_rcpt[0]:
                wait, slow_rcpt[0] = slow_rcpt[0], 0
                print("RCPT-WAIT", flush=True)
                await asyncio.sleep(wait)
            if address in a.refuse:
                return "550 5.1.1 <%s>: no such mailbox here" % address
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):
            with open(a.log, "a", encoding="utf-8") as f:
                f.write(json.dumps({
                    "mail_from": envelope.mail_from,
                    "rcpt_tos": envelope.rcpt_tos,
                    "peer": list(session.peer) if session.peer else None,
                    "data": envelope.original_content.decode("utf-8", "replace"),
                }) + "\n")
            if a.slow_data:
                print("DATA-WAIT", flush=True)
                await asyncio.sleep(a.slow_data)
            return "250 2.0.0 Message accepted"

    def authenticator(server, session, envelope, mechanism, auth_data):
        user, password = a.auth.split(":", 1)
        ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user \
            and auth_data.password.decode() == password
        # handled=False: aiosmtpd answers (535 on failure) itself.
        return AuthResult(success=ok, handled=False)

    kwargs = {}
    if a.auth:
        kwargs = dict(authenticator=authenticator, auth_require_tls=False, auth_required=True)
    c = Controller(Handler(), hostname="127.0.0.1", port=a.port, **kwargs)
    c.start()
    print("READY", flush=True)
    try:
        sys.stdin.read()  # until the test closes our stdin (or kills us)
    finally:
        c.stop()


if __name__ == "__main__":
    main()
