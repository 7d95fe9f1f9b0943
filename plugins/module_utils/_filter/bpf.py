# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to the netfilter.conntrack collection: not a public API.
"""Classic BPF socket filters for conntrack event sockets, generated from a compiled filter.

The kernel runs a socket filter on every event before it is queued, so an event it
rejects never takes room in the receive buffer (and is not a drop).  The program reads
the event message as the kernel built it: nlmsghdr, nfgenmsg (the family at offset 16),
then attributes, found the way libnetfilter_conntrack's bsf.c finds them, with the
ancillary loads SKF_AD_NLATTR (A = offset of the first attribute of type X from offset A
to the end of the message) and SKF_AD_NLATTR_NEST (the same inside the nest at offset A).

Soundness over speed: every condition is three-valued.  When an attribute the program
needs is missing, too short, or there twice where it reads it (nla_find takes the first,
the decoder the last), the condition is unknown and cannot reject; a message that is not
a conntrack event is accepted.  So the program only rejects events the Python filter
rejects too; Python still matches every event that passes (the whole filter).
"""

from __future__ import annotations

import ctypes
import socket
import struct
import sys

from ansible_collections.netfilter.conntrack.plugins.module_utils._codec import constants as C

SO_ATTACH_FILTER = 26
BPF_MAXINSNS = 4096
MAX_VALUES = 64          # longer any-of lists stay in Python (a compare each)

# classic BPF opcodes (linux/bpf_common.h, linux/filter.h)
LD, LDX, ST, STX, ALU, JMP, RET, MISC = 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07
W, H, B = 0x00, 0x08, 0x10
IMM, ABS, IND, MEM, LEN = 0x00, 0x20, 0x40, 0x60, 0x80
ADD, OR, AND, LSH = 0x00, 0x40, 0x50, 0x60
JA, JEQ, JGT, JGE = 0x00, 0x10, 0x20, 0x30
BPF_K, BPF_X = 0x00, 0x08
TAX, TXA = MISC | 0x00, MISC | 0x80
SKF_AD_OFF = -0x1000
SKF_AD_NLATTR = 12
SKF_AD_NLATTR_NEST = 16
ANC_NLATTR = (SKF_AD_OFF + SKF_AD_NLATTR) & 0xFFFFFFFF
ANC_NLATTR_NEST = (SKF_AD_OFF + SKF_AD_NLATTR_NEST) & 0xFFFFFFFF
ACCEPT = 0xFFFFFFFF
REJECT = 0
MEMWORDS = 16

_HDR = 20  # nlmsghdr + nfgenmsg
# nlmsg_type and nla_len are host-order u16; BPF byte loads are endian-free
_LO, _HI = (0, 1) if sys.byteorder == 'little' else (1, 0)
_IP_TYPES = {('src', 4): C.CTA_IP_V4_SRC, ('dst', 4): C.CTA_IP_V4_DST,
             ('src', 6): C.CTA_IP_V6_SRC, ('dst', 6): C.CTA_IP_V6_DST}
_PORT_TYPES = {'sport': C.CTA_PROTO_SRC_PORT, 'dport': C.CTA_PROTO_DST_PORT}


class _Label:
    __slots__ = ('pos',)

    def __init__(self):
        self.pos = None


class _Asm:
    """Instructions with forward jumps to labels; far jumps get JA trampolines."""

    def __init__(self):
        self.items = []   # ('i', code, k) | ('j', code, k, true, false) | ('l', label)

    def op(self, code, k=0):
        self.items.append(('i', code, k & 0xFFFFFFFF))

    def jump(self, code, k, true, false):
        """Conditional jump; ``true``/``false`` are labels (None: fall through)."""
        self.items.append(('j', code, k & 0xFFFFFFFF, true, false))

    def goto(self, label):
        self.items.append(('j', JMP | JA, 0, label, label))

    def label(self, label):
        self.items.append(('l', label))

    def assemble(self):
        longs = set()
        while True:
            out, bad = self._layout(longs)
            if not bad:
                return out
            longs |= bad

    def _layout(self, longs):
        # first pass: positions
        pos = 0
        for n, item in enumerate(self.items):
            if item[0] == 'l':
                item[1].pos = pos
            elif item[0] == 'i' or item[1] == JMP | JA:
                pos += 1
            else:
                pos += 3 if n in longs else 1
        out, bad = [], set()
        for n, item in enumerate(self.items):
            if item[0] == 'l':
                continue
            if item[0] == 'i':
                out.append((item[1], 0, 0, item[2]))
                continue
            _kind, code, k, true, false = item
            here = len(out)
            if code == JMP | JA:
                out.append((code, 0, 0, true.pos - here - 1))
                continue
            if n in longs:
                # Jcond +0/+1; JA true; JA false
                out.append((code, 0, 1, k))
                tpos = true.pos if true is not None else here + 3
                fpos = false.pos if false is not None else here + 3
                out.append((JMP | JA, 0, 0, tpos - here - 2))
                out.append((JMP | JA, 0, 0, fpos - here - 3))
                continue
            jt = (true.pos if true is not None else here + 1) - here - 1
            jf = (false.pos if false is not None else here + 1) - here - 1
            if jt > 255 or jf > 255:
                bad.add(n)
            out.append((code, min(jt, 255), min(jf, 255), k))
        return out, bad


class EventProgram:
    """A generated socket filter: ``insns`` [(code, jt, jf, k)], ``applied`` (what it
    decides, in conntrack_info's kernel_filter terms)."""

    def __init__(self, insns, applied, complete):
        self.insns = insns
        self.applied = applied
        self.complete = complete    # whether it decides the whole filter

    def packed(self):
        return b''.join(struct.pack('=HBBI', *insn) for insn in self.insns)

    def attach(self, sock):
        """SO_ATTACH_FILTER on ``sock`` (before bind(), so no event passes unfiltered)."""
        code = ctypes.create_string_buffer(self.packed())
        fprog = struct.pack('HL', len(self.insns), ctypes.addressof(code))
        sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)


class _Gen:
    """Code generation state: the scratch slots of the attributes located so far."""

    def __init__(self):
        self.asm = _Asm()
        self.slots = {}
        self.nslot = 2            # M[0], M[1]: temporaries
        self.reject = _Label()
        self.accept = _Label()

    def _slot(self, key):
        if key not in self.slots:
            if self.nslot >= MEMWORDS:
                return None
            self.slots[key] = self.nslot
            self.nslot += 1
        return self.slots[key]

    # A = nla_len of the attribute at offset X (host order); clobbers M[0]
    def _nla_len(self):
        a = self.asm
        a.op(LD | B | IND, _HI)
        a.op(ALU | LSH | BPF_K, 8)
        a.op(ST, 0)
        a.op(LD | B | IND, _LO)
        a.op(LDX | MEM, 0)
        a.op(ALU | OR | BPF_X)

    def _find(self, key, parent, atype, min_len, exclusive=None):
        """Locate attribute ``atype`` (top level when parent is None, else inside the
        nest whose offset is in slot ``parent``) into a slot: its offset, or 0 when it is
        missing, shorter than ``min_len``, there twice, or when ``exclusive`` (another
        type) is in the same nest too.  Returns the slot, or None without room."""
        if key in self.slots:
            return self.slots[key]
        s = self._slot(key)
        if s is None:
            return None
        a = self.asm
        done = _Label()
        unknown = _Label()
        if parent is None:
            a.op(LD | IMM, _HDR)
            a.op(LDX | IMM, atype)
            a.op(LD | B | ABS, ANC_NLATTR)
        else:
            a.op(LD | MEM, parent)
            a.jump(JMP | JEQ | BPF_K, 0, done, None)
            a.op(LDX | IMM, atype)
            a.op(LD | B | ABS, ANC_NLATTR_NEST)
        a.jump(JMP | JEQ | BPF_K, 0, done, None)
        a.op(ST, s)
        a.op(TAX)
        self._nla_len()
        a.jump(JMP | JGE | BPF_K, 4 + min_len, None, unknown)
        # a second one after it (nla_find walks on from there to the end of the message)
        a.op(ALU | ADD | BPF_K, 3)
        a.op(ALU | AND | BPF_K, 0xFFFFFFFC)
        a.op(LDX | MEM, s)
        a.op(ALU | ADD | BPF_X)
        a.op(LDX | IMM, atype)
        a.op(LD | B | ABS, ANC_NLATTR)
        if parent is None:
            a.jump(JMP | JEQ | BPF_K, 0, None, unknown)
        else:
            nodup = _Label()
            a.jump(JMP | JEQ | BPF_K, 0, nodup, None)
            # found at A: a duplicate when before the end of the parent nest
            a.op(ST, 1)
            a.op(LDX | MEM, parent)
            self._nla_len()
            a.op(LDX | MEM, parent)
            a.op(ALU | ADD | BPF_X)
            a.op(LDX | MEM, 1)
            a.jump(JMP | JGT | BPF_X, 0, unknown, None)
            a.label(nodup)
            if exclusive is not None:
                a.op(LD | MEM, parent)
                a.op(LDX | IMM, exclusive)
                a.op(LD | B | ABS, ANC_NLATTR_NEST)
                a.jump(JMP | JEQ | BPF_K, 0, None, unknown)
        a.goto(done)
        a.label(unknown)
        a.op(LD | IMM, 0)
        a.op(ST, s)
        a.label(done)
        return s

    def _tuple(self, side, part):
        top = self._find(side, None, C.CTA_TUPLE_ORIG if side == 'orig' else C.CTA_TUPLE_REPLY, 0)
        if top is None:
            return None
        return self._find(side + '/' + part, top,
                          C.CTA_TUPLE_IP if part == 'ip' else C.CTA_TUPLE_PROTO, 0)

    def _leaf(self, key, side, part, atype, size, exclusive=None):
        if key in self.slots:
            return self.slots[key]
        nest = self._tuple(side, part)
        if nest is None:
            return None
        return self._find(key, nest, atype, size, exclusive)

    def locate(self, term):
        """Emit the code that finds what ``term`` reads; its slots, or None when the
        program cannot decide it.  All of it runs before any condition, so that every
        condition finds its slots filled whichever way the earlier ones went."""
        kind = term[0]
        if kind == 'family':
            return ()
        if kind == 'status':
            s = self._find('status', None, C.CTA_STATUS, 4)
            return None if s is None else (s,)
        if kind in ('proto', 'port', 'addr') and len(term[-1]) > MAX_VALUES:
            return None
        if kind in ('proto', 'port'):
            ps = self._leaf('orig.proto', 'orig', 'proto', C.CTA_PROTO_NUM, 1)
            if kind == 'proto':
                return None if ps is None else (ps,)
            _kind, side, field, _ports = term
            s = self._leaf('%s.%s' % (side, field), side, 'proto', _PORT_TYPES[field], 2)
            return None if ps is None or s is None else (ps, s)
        if kind == 'addr':
            _kind, side, field, nets = term
            version = nets[0].version
            s = self._leaf('%s.%s%d' % (side, field, version), side, 'ip',
                           _IP_TYPES[(field, version)], 4 if version == 4 else 16,
                           exclusive=_IP_TYPES[(field, 10 - version)])
            return None if s is None else (s,)
        return None

    # -- conditions: code that jumps to true / false / unknown (labels) ---------------
    def cond(self, term, slots, true, false, unknown):
        """Emit the test of ``term`` over the attributes located in ``slots``."""
        kind = term[0]
        a = self.asm
        if kind == 'family':
            a.op(LD | B | ABS, 16)
            a.jump(JMP | JEQ | BPF_K, term[1], true, false)
        elif kind == 'proto':
            self._load_leaf(slots[0], B, unknown)
            self._any_of(sorted(term[1]), true, false)
        elif kind == 'port':
            has_ports = _Label()
            self._load_leaf(slots[0], B, unknown)
            self._any_of(sorted(C.PORT_PROTOS), has_ports, false)
            a.label(has_ports)
            self._load_leaf(slots[1], H, unknown)
            self._any_of(sorted(term[3]), true, false)
        elif kind == 'addr':
            a.op(LDX | MEM, slots[0])
            a.op(TXA)
            a.jump(JMP | JEQ | BPF_K, 0, unknown, None)
            for net in term[3]:
                self._net(net, true)
            a.goto(false)
        elif kind == 'status':
            self._load_leaf(slots[0], W, unknown)
            a.op(ALU | AND | BPF_K, term[1])
            a.jump(JMP | JEQ | BPF_K, term[1], true, false)

    def _load_leaf(self, s, size, unknown):
        """A = the value of the attribute whose offset is in slot s (0: go to unknown)."""
        a = self.asm
        a.op(LDX | MEM, s)
        a.op(TXA)
        a.jump(JMP | JEQ | BPF_K, 0, unknown, None)
        a.op(LD | size | IND, 4)

    def _any_of(self, values, true, false):
        a = self.asm
        for v in values:
            a.jump(JMP | JEQ | BPF_K, v, true, None)
        a.goto(false)

    def _net(self, net, true):
        """Jump to ``true`` when the address at X+4 is in ``net``; else fall through."""
        a = self.asm
        miss = _Label()
        raw = net.network_address.packed
        bits = net.prefixlen
        for i in range(len(raw) // 4):
            n = min(max(bits - 32 * i, 0), 32)
            if n == 0:
                break
            mask = (0xFFFFFFFF << (32 - n)) & 0xFFFFFFFF
            a.op(LD | W | IND, 4 + 4 * i)
            if mask != 0xFFFFFFFF:
                a.op(ALU | AND | BPF_K, mask)
            a.jump(JMP | JEQ | BPF_K, int.from_bytes(raw[4 * i:4 * i + 4], 'big') & mask,
                   None, miss)
        a.goto(true)
        a.label(miss)


_APPLIED = {'family': 'family', 'proto': 'orig_tuple', 'status': 'status',
            'exclude': 'exclude'}


def _decidable(cfilter):
    """The (term, name) of a filter the program can decide, and whether that is all."""
    out, complete = [], True
    for term in cfilter.check_terms:
        if term is None:
            complete = False
            continue
        if term[0] in ('addr', 'port'):
            out.append((term, term[1] + '_tuple'))
        else:
            out.append((term, _APPLIED[term[0]]))
    return out, complete


def event_program(cfilter):
    """The socket filter for conntrack events under ``cfilter`` (an EventProgram), or
    None when the kernel can decide none of it."""
    terms, complete = _decidable(cfilter)
    gen = _Gen()
    located = []        # (term, slots, name) of the main filter
    excludes = []       # [(term, slots)] per exclude the program decides whole
    for term, name in terms:
        if term[0] != 'exclude':
            slots = gen.locate(term)
            if slots is not None:
                located.append((term, slots, name))
            else:
                complete = False
            continue
        for sub in term[1]:
            sub_terms, whole = _decidable(sub)
            if not whole or any(t[0] == 'exclude' for t, _n in sub_terms):
                complete = False
                continue
            found = [(t, gen.locate(t)) for t, _n in sub_terms]
            if all(slots is not None for _t, slots in found):
                excludes.append(found)
            else:
                complete = False
    if not located and not excludes:
        return None
    prelude, gen.asm = gen.asm, _Asm()
    applied = []
    for term, slots, name in located:
        nxt = _Label()
        gen.cond(term, slots, nxt, gen.reject, nxt)   # unknown: cannot reject
        gen.asm.label(nxt)
        if name not in applied:
            applied.append(name)
    for found in excludes:
        nxt = _Label()
        for term, slots in found:
            step = _Label()
            gen.cond(term, slots, step, nxt, nxt)      # unknown: not excluded
            gen.asm.label(step)
        gen.asm.goto(gen.reject)
        gen.asm.label(nxt)
    if excludes:
        applied.append('exclude')
    prog = _Asm()
    # not a conntrack event (or too short to be one): Python's business
    prog.op(LD | W | LEN)
    prog.jump(JMP | JGE | BPF_K, _HDR, None, gen.accept)
    prog.op(LD | B | ABS, 4 + _HI)
    prog.jump(JMP | JEQ | BPF_K, C.NFNL_SUBSYS_CTNETLINK, None, gen.accept)
    prog.op(LD | B | ABS, 4 + _LO)
    ok = _Label()
    prog.jump(JMP | JEQ | BPF_K, C.IPCTNL_MSG_CT_NEW, ok, None)
    prog.jump(JMP | JEQ | BPF_K, C.IPCTNL_MSG_CT_DELETE, ok, gen.accept)
    prog.label(ok)
    # every slot starts at 0 (unknown): the checker wants a store before each load
    prog.op(LD | IMM, 0)
    for s in range(gen.nslot):
        prog.op(ST, s)
    prog.items += prelude.items + gen.asm.items
    prog.label(gen.accept)
    prog.op(RET | BPF_K, ACCEPT)
    prog.label(gen.reject)
    prog.op(RET | BPF_K, REJECT)
    insns = prog.assemble()
    if len(insns) > BPF_MAXINSNS:
        return None
    return EventProgram(insns, applied, complete)
