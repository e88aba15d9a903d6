#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Helpers of tests/perm/run.

  scan.py netlink OUT          write the raw bytes of every hsmgroup generic
                               netlink reply a reader can get (group, queue and
                               session dumps, stats, each group's policy) to OUT
  scan.py find PIN BLOBHEX[,BLOBHEX...] PATH...
                               look for the PIN and the pin-blobs (raw bytes, hex
                               in either case, "%*ph" spaced hex, and their first
                               8 bytes) in files and, recursively, directories;
                               print each hit, exit 1 if there is one
"""
import os
import socket
import struct
import sys

NETLINK_GENERIC = 16
GENL_ID_CTRL = 0x10
CTRL_CMD_GETFAMILY = 3
CTRL_ATTR_FAMILY_ID = 1
CTRL_ATTR_FAMILY_NAME = 2
NLM_F_REQUEST, NLM_F_ACK, NLM_F_DUMP = 1, 4, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
# enum hsmg_nl_cmd and attributes (uapi/linux/hsmgroup.h)
CMD_GET_GROUP, CMD_GET_QUEUE, CMD_GET_SESSION, CMD_GET_POLICY, CMD_GET_STATS = 1, 2, 4, 6, 8
A_GROUP, GROUP_A_ID = 1, 1


def attr(atype, payload):
    n = 4 + len(payload)
    return struct.pack("=HH", n, atype) + payload + b"\0" * ((4 - n % 4) % 4)


def attrs(buf):
    off = 0
    while off + 4 <= len(buf):
        n, t = struct.unpack_from("=HH", buf, off)
        if n < 4:
            break
        yield t & 0x3FFF, buf[off + 4:off + n]
        off += (n + 3) & ~3


class Genl:
    def __init__(self):
        self.s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
        self.s.bind((0, 0))
        self.seq = 0

    def request(self, family, cmd, flags, payload=b""):
        """All reply messages (raw), until DONE or the ack."""
        self.seq += 1
        body = struct.pack("=BBH", cmd, 1, 0) + payload
        msg = struct.pack("=IHHII", 16 + len(body), family,
                          NLM_F_REQUEST | NLM_F_ACK | flags, self.seq, 0) + body
        self.s.send(msg)
        out = []
        while True:
            data = self.s.recv(1 << 20)
            off = 0
            while off + 16 <= len(data):
                n, t, _, seq, _ = struct.unpack_from("=IHHII", data, off)
                m = data[off:off + n]
                off += (n + 3) & ~3
                if seq != self.seq:
                    continue
                if t == NLMSG_DONE:
                    return out
                if t == NLMSG_ERROR:
                    err = struct.unpack_from("=i", m, 16)[0]
                    if err:
                        raise OSError(-err, os.strerror(-err))
                    return out
                out.append(m)

    def family(self, name):
        for m in self.request(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 0,
                              attr(CTRL_ATTR_FAMILY_NAME, name.encode() + b"\0")):
            for t, v in attrs(m[20:]):
                if t == CTRL_ATTR_FAMILY_ID:
                    return struct.unpack("=H", v[:2])[0]
        raise OSError("no genetlink family %s" % name)


def netlink(out):
    g = Genl()
    fam = g.family("hsmgroup")
    replies = []
    groups = g.request(fam, CMD_GET_GROUP, NLM_F_DUMP)
    replies += groups
    replies += g.request(fam, CMD_GET_QUEUE, NLM_F_DUMP)
    replies += g.request(fam, CMD_GET_SESSION, NLM_F_DUMP)
    replies += g.request(fam, CMD_GET_STATS, 0)
    ids = []
    for m in groups:
        for t, v in attrs(m[20:]):
            if t == A_GROUP:
                ids += [struct.unpack("=I", w[:4])[0] for a, w in attrs(v) if a == GROUP_A_ID]
    for gid in ids:
        replies += g.request(fam, CMD_GET_POLICY, 0,
                             attr(A_GROUP | 0x8000, attr(GROUP_A_ID, struct.pack("=I", gid))))
    with open(out, "wb") as f:
        f.write(b"".join(replies))
    print("netlink: %d replies, %d bytes, %d groups" % (len(replies), sum(map(len, replies)),
                                                        len(ids)))
    return 0


def needles(pin, blobhexes):
    n = {"PIN": pin.encode()}
    for k, h in enumerate(blobhexes.split(",")):
        blob = bytes.fromhex(h)
        for name, b in (("pin-blob %d" % k, blob), ("pin-blob %d [0:8]" % k, blob[:8])):
            n[name + " raw"] = b
            n[name + " hex"] = b.hex().encode()
            n[name + " HEX"] = b.hex().upper().encode()
            n[name + " spaced hex"] = b.hex(" ").encode()
    return n


def find(pin, blobhex, paths):
    n = needles(pin, blobhex)
    hits = files = 0
    todo = list(paths)
    while todo:
        p = todo.pop()
        if os.path.islink(p) and p not in paths:
            continue
        if os.path.isdir(p):
            try:
                todo += [os.path.join(p, e) for e in os.listdir(p)]
            except OSError:
                pass
            continue
        try:
            with open(p, "rb") as f:
                data = f.read(1 << 22)
        except OSError:
            continue  # write-only or unreadable attributes
        files += 1
        for name, b in n.items():
            if b in data:
                print("FOUND %s in %s" % (name, p))
                hits += 1
    print("find: %d files read, %d hits" % (files, hits))
    return 1 if hits else 0


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "netlink":
        return netlink(sys.argv[2])
    if len(sys.argv) >= 5 and sys.argv[1] == "find":
        return find(sys.argv[2], sys.argv[3], sys.argv[4:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
