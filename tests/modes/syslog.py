#!/usr/bin/env python3
# A stand-in syslog daemon for tests/modes/run: receive datagrams on the
# socket SOCK (normally /dev/log) and append them, one per line, to FILE.
#   syslog.py SOCK FILE
import os
import socket
import sys

sock_path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sock_path)
os.chmod(sock_path, 0o666)
with open(out, "ab", buffering=0) as f:
    f.write(b"listening\n")
    while True:
        f.write(s.recv(4096).rstrip(b"\0\n") + b"\n")
