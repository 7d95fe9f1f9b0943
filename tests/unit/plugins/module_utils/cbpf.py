# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""An exact classic-BPF interpreter for socket filters over netlink messages, as the
kernel runs them (net/core/filter.c, lib/nlattr.c), written independently of the
generator under test.

- A load past the end of the packet ends the program with 0 (the packet is dropped).
- SKF_AD_NLATTR: A = offset of the first attribute of type X (masked with
  NLA_TYPE_MASK) from offset A to the end of the packet, or 0 (bpf_skb_get_nlattr:
  0 when len < 4 or A > len - 4; nla_find walks with nla_ok / NLA_ALIGN).
- SKF_AD_NLATTR_NEST: the same inside the attribute at offset A (0 when that one does
  not fit: nla_ok(nla, len - A)).
- The checker's rules (bpf_check_classic): jumps inside the program, a return last,
  scratch memory stored before it is loaded on every path, at most 4096 instructions.
"""

from __future__ import annotations

import struct
import sys

SKF_AD_OFF = -0x1000
ANC = {SKF_AD_OFF + 12: 'nlattr', SKF_AD_OFF + 16: 'nlattr_nest'}
_U16 = '<H' if sys.byteorder == 'little' else '>H'


def _nla_ok(buf, pos, rem):
    if rem < 4:
        return False
    nlen = struct.unpack_from(_U16, buf, pos)[0]
    return 4 <= nlen <= rem


def nla_find(buf, pos, rem, atype):
    while _nla_ok(buf, pos, rem):
        nlen = struct.unpack_from(_U16, buf, pos)[0]
        ntype = struct.unpack_from(_U16, buf, pos + 2)[0]
        if ntype & 0x3FFF == atype:
            return pos
        tot = (nlen + 3) & ~3
        rem -= tot
        pos += tot
    return None


def anc_nlattr(buf, a, x):
    n = len(buf)
    if n < 4 or a > n - 4:
        return 0
    hit = nla_find(buf, a, n - a, x)
    return hit or 0


def anc_nlattr_nest(buf, a, x):
    n = len(buf)
    if n < 4 or a > n - 4:
        return 0
    if not _nla_ok(buf, a, n - a):
        return 0
    nlen = struct.unpack_from(_U16, buf, a)[0]
    hit = nla_find(buf, a + 4, nlen - 4, x)
    return hit or 0


class Invalid(Exception):
    """The kernel's checker would refuse this program."""


def check(prog):
    """bpf_check_classic's structural rules, and store-before-load on every path."""
    if not 0 < len(prog) <= 4096:
        raise Invalid('length %d' % len(prog))
    if prog[-1][0] & 0x07 != 0x06:
        raise Invalid('last instruction is not a return')
    # memory initialised along every path: forward data flow (jumps only go forward)
    init = [None] * (len(prog) + 1)
    init[0] = frozenset()
    for pc, (code, jt, jf, k) in enumerate(prog):
        have = init[pc]
        if have is None:
            continue   # unreachable
        cls = code & 0x07
        if cls in (0x00, 0x01) and code & 0xE0 == 0x60:
            if k >= 16 or k not in have:
                raise Invalid('M[%d] loaded before any store at %d' % (k, pc))
        if cls in (0x02, 0x03):
            if k >= 16:
                raise Invalid('store to M[%d]' % k)
            have = have | {k}
        succ = []
        if cls == 0x05:
            op = code & 0xF0
            if op == 0x00:
                succ = [pc + 1 + k]
            else:
                succ = [pc + 1 + jt, pc + 1 + jf]
        elif cls != 0x06:
            succ = [pc + 1]
        for nxt in succ:
            if nxt >= len(prog):
                raise Invalid('jump out of the program at %d' % pc)
            init[nxt] = have if init[nxt] is None else init[nxt] & have


def _s32(v):
    return v - (1 << 32) if v & 0x80000000 else v


def run(prog, pkt):
    """The program's return value on packet ``pkt`` (bytes)."""
    buf = bytes(pkt)
    n = len(buf)
    A = X = 0
    M = [0] * 16
    pc = 0
    mask = 0xFFFFFFFF

    def load(off, size):
        if off < 0 or off + size > n:
            return None
        return int.from_bytes(buf[off:off + size], 'big')

    while True:
        code, jt, jf, k = prog[pc]
        pc += 1
        cls = code & 0x07
        if cls in (0x00, 0x01):   # LD / LDX
            mode, size = code & 0xE0, {0x00: 4, 0x08: 2, 0x10: 1}[code & 0x18]
            if cls == 0x01:
                if mode == 0x00:
                    X = k
                elif mode == 0x60:
                    X = M[k]
                elif mode == 0x80:
                    X = n
                elif mode == 0xA0:  # MSH
                    v = load(k, 1)
                    if v is None:
                        return 0
                    X = (v & 0xF) << 2
                else:
                    raise Invalid('ldx mode %#x' % mode)
                continue
            if mode == 0x00:
                A = k
            elif mode == 0x60:
                A = M[k]
            elif mode == 0x80:
                A = n
            elif mode == 0x20:
                sk = _s32(k)
                if SKF_AD_OFF <= sk < 0:
                    kind = ANC.get(sk)
                    if kind is None:
                        raise Invalid('ancillary %d' % (sk - SKF_AD_OFF))
                    A = anc_nlattr(buf, A, X) if kind == 'nlattr' else anc_nlattr_nest(buf, A, X)
                    continue
                v = load(sk, size)
                if v is None:
                    return 0
                A = v
            elif mode == 0x40:
                v = load(_s32((X + k) & mask), size)
                if v is None:
                    return 0
                A = v
            else:
                raise Invalid('ld mode %#x' % mode)
        elif cls == 0x02:
            M[k] = A
        elif cls == 0x03:
            M[k] = X
        elif cls == 0x04:
            op = code & 0xF0
            src = X if code & 0x08 else k
            if op == 0x00:
                A = (A + src) & mask
            elif op == 0x10:
                A = (A - src) & mask
            elif op == 0x20:
                A = (A * src) & mask
            elif op == 0x30:
                if src == 0:
                    return 0
                A = A // src
            elif op == 0x40:
                A |= src
            elif op == 0x50:
                A &= src
            elif op == 0x60:
                A = (A << src) & mask if src < 32 else 0
            elif op == 0x70:
                A = A >> src if src < 32 else 0
            elif op == 0x80:
                A = (-A) & mask
            elif op == 0x90:
                if src == 0:
                    return 0
                A = A % src
            elif op == 0xA0:
                A ^= src
            else:
                raise Invalid('alu %#x' % op)
        elif cls == 0x05:
            op = code & 0xF0
            if op == 0x00:
                pc += k
                continue
            src = X if code & 0x08 else k
            if op == 0x10:
                hit = A == src
            elif op == 0x20:
                hit = A > src
            elif op == 0x30:
                hit = A >= src
            elif op == 0x40:
                hit = bool(A & src)
            else:
                raise Invalid('jmp %#x' % op)
            pc += jt if hit else jf
        elif cls == 0x06:
            return A if code & 0x18 == 0x10 else k
        else:  # MISC
            if code & 0xF8 == 0x00:
                X = A
            elif code & 0xF8 == 0x80:
                A = X
            else:
                raise Invalid('misc %#x' % code)
