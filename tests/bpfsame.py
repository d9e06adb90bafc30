#!/usr/bin/env python3
# What tests/bpfsame.sh compares in one BPF object, as text lines that do not depend on where
# the source sits (file names, line numbers, BTF type numbering). Needs bpftool and llvm-objdump.
#
#   bpfsame.py OBJ        print the object's description, one fact a line, in sections
import re
import struct
import subprocess
import sys


def elf_sections(path):
    """
    The sections of a 64-bit little-endian ELF (what clang -target bpf writes), name ->
    (type, bytes, size), and its symbols.
    """
    data = open(path, 'rb').read()
    if data[:4] != b'\x7fELF' or data[4] != 2 or data[5] != 1:
        sys.exit(f'{path}: not a 64-bit little-endian ELF')
    shoff, = struct.unpack_from('<Q', data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from('<HHH', data, 0x3a)
    hdrs = [struct.unpack_from('<IIQQQQIIQQ', data, shoff + i * shentsize) for i in range(shnum)]
    stroff = hdrs[shstrndx][4]
    names = [data[stroff + h[0]:data.index(b'\0', stroff + h[0])].decode() for h in hdrs]
    out = {}
    for name, h in zip(names, hdrs):
        body = b'' if h[1] == 8 else data[h[4]:h[4] + h[5]]  # SHT_NOBITS: no bytes
        out[name] = (h[1], body, h[5])
    return out, symbols(data, hdrs, names)


def symbols(data, hdrs, names):
    """Functions and objects of the symbol table: section, name, offset, size, binding."""
    out = []
    for h in hdrs:
        if h[1] != 2:  # SHT_SYMTAB
            continue
        strtab = hdrs[h[6]][4]
        for off in range(h[4], h[4] + h[5], 24):
            st_name, info, _, shndx, value, size = struct.unpack_from('<IBBHQQ', data, off)
            kind, bind = info & 15, info >> 4
            if kind not in (1, 2):  # STT_OBJECT, STT_FUNC
                continue
            name = data[strtab + st_name:data.index(b'\0', strtab + st_name)].decode()
            sec = names[shndx] if shndx < len(names) else f'#{shndx}'
            binding = ('local', 'global', 'weak')[bind] if bind < 3 else bind
            out.append(f'sym {sec} {name} {"func" if kind == 2 else "object"} offset={value} '
                       f'size={size} bind={binding}')
    return sorted(out)


def btf_types(path):
    """id -> (kind, name, attrs, members) from bpftool's raw dump."""
    raw = subprocess.run(['bpftool', 'btf', 'dump', 'file', path, 'format', 'raw'],
                         check=True, capture_output=True, text=True).stdout
    types, cur = {}, None
    for line in raw.splitlines():
        m = re.match(r"\[(\d+)\] (\w+) '([^']*)'(.*)", line)
        if m:
            attrs = dict(re.findall(r'(\w+)=(\S+?),?(?=\s|$)', m.group(4)))
            cur = types[int(m.group(1))] = (m.group(2), m.group(3), attrs, [])
        elif cur is not None and line.startswith('\t'):
            cur[3].append(line.strip())
    return types


def type_desc(types, tid, depth=0):
    """A name for a type that survives renumbering: its kind and name, or its shape if anon."""
    if tid == 0:
        return 'void'
    kind, name, attrs, members = types[tid]
    if name != '(anon)' or depth > 3:
        return f'{kind} {name}'
    if 'type_id' in attrs:
        return f'{kind}->' + type_desc(types, int(attrs['type_id']), depth + 1)
    names = [re.sub(r' type_id=\d+', '', m) for m in members]
    return f'{kind}(anon size={attrs.get("size", "?")} {"; ".join(names)})'


def type_size(types, tid):
    kind, _, attrs, _ = types[tid]
    if kind == 'PTR':
        return 8
    if kind == 'ARRAY':
        return int(attrs['nr_elems']) * type_size(types, int(attrs['type_id']))
    if 'size' in attrs:
        return int(attrs['size'])
    return type_size(types, int(attrs['type_id']))


def maps_and_vars(types):
    """Each map's definition (BTF-defined, in .maps) and each global variable's place."""
    out = []
    for kind, name, attrs, members in types.values():
        if kind != 'DATASEC':
            continue
        for m in members:
            v = re.match(r"type_id=(\d+) offset=(\d+) size=(\d+) \(VAR '([^']*)'\)", m)
            if not v:
                continue
            vtid, off, size, vname = int(v.group(1)), v.group(2), v.group(3), v.group(4)
            vkind, _, vattrs, _ = types[vtid]
            if name != '.maps':
                out.append(f'var {name} {vname} offset={off} size={size} '
                           f'type={type_desc(types, int(vattrs["type_id"]))} '
                           f'linkage={vattrs.get("linkage", "?")}')
                continue
            defn = types[int(vattrs['type_id'])]
            fields = []
            for f in defn[3]:
                fm = re.match(r"'(\w+)' type_id=(\d+)", f)
                ftid = int(fm.group(2))
                target = types[ftid]
                if target[0] != 'PTR':
                    fields.append(f'{fm.group(1)}=?')
                    continue
                pointee = int(target[2]['type_id'])
                if types[pointee][0] == 'ARRAY' and fm.group(1) not in ('key', 'value'):
                    fields.append(f'{fm.group(1)}={types[pointee][2]["nr_elems"]}')
                else:
                    fields.append(f'{fm.group(1)}=size {type_size(types, pointee)} '
                                  f'({type_desc(types, pointee)})')
            out.append(f'map {vname} ' + ' '.join(fields))
    return sorted(out)


def btf_ext(secs, types, funcs):
    """func_info and CO-RE relocations per section, types and strings by name."""
    btf = secs['.BTF'][1]
    hdr_len, _, _, str_off, str_len = struct.unpack_from('<IIIII', btf, 4)
    strs = btf[hdr_len + str_off:hdr_len + str_off + str_len]

    def s(off):
        return strs[off:strs.index(b'\0', off)].decode()

    ext = secs['.BTF.ext'][1]
    ext_hdr, = struct.unpack_from('<I', ext, 4)
    fi_off, fi_len, _, _ = struct.unpack_from('<IIII', ext, 8)
    cr_off, cr_len = struct.unpack_from('<II', ext, 24) if ext_hdr >= 32 else (0, 0)
    out = []
    for what, off, length in (('func_info', fi_off, fi_len), ('core_relo', cr_off, cr_len)):
        if not length:
            continue
        p, end = ext_hdr + off, ext_hdr + off + length
        rec_size, = struct.unpack_from('<I', ext, p)
        p += 4
        while p < end:
            sec_off, num = struct.unpack_from('<II', ext, p)
            p += 8
            for _ in range(num):
                if what == 'func_info':
                    insn, tid = struct.unpack_from('<II', ext, p)
                    out.append(f'{what} {s(sec_off)} {where(funcs, s(sec_off), insn)} '
                               f'{type_desc(types, tid)}')
                else:
                    insn, tid, acc, kind = struct.unpack_from('<IIII', ext, p)
                    out.append(f'{what} {s(sec_off)} {where(funcs, s(sec_off), insn)} kind={kind} '
                               f'type={type_desc(types, tid)} access={s(acc)}')
                p += rec_size
    return sorted(out)


def text_funcs(data_syms):
    """(start byte, end byte, name) of each function in .text, the subprograms."""
    out = []
    for line in data_syms:
        m = re.match(r'sym \.text (\S+) func offset=(\d+) size=(\d+)', line)
        if m:
            out.append((int(m.group(2)), int(m.group(2)) + int(m.group(3)), m.group(1)))
    return sorted(out)


def where(funcs, sec, off):
    """An instruction's place: its index in a program's section; in .text, function + index."""
    if sec != '.text':
        return f'insn={off // 8}'
    for lo, hi, name in funcs:
        if lo <= off < hi:
            return f'{name}+{(off - lo) // 8}'
    return f'insn={off // 8}'


def disassembly(path, funcs):
    """
    Each code section's instructions and relocations; .text a function at a time, with
    addresses from the function's start. Block labels renumbered per section (LBB<n>_: n is
    the function's place in the file), and a subprogram's address (a callback's ld_imm64
    against .text) written as the function's name: libbpf places subprograms itself, after
    each program that uses them, so their order in .text is not what the kernel runs.
    """
    dis = subprocess.run(['llvm-objdump', '-d', '-r', '--no-show-raw-insn', path], check=True,
                         capture_output=True, text=True).stdout
    out, order, sec, key, base = {}, [], None, None, 0
    for line in dis.splitlines():
        m = re.match(r'Disassembly of section (.*):$', line)
        if m:
            sec = key = m.group(1)
            order.append(sec)
            base = 0
            out[key] = []
            continue
        if sec is None or not line.strip():
            continue
        line = re.sub(r'LBB\d+_', 'LBB_', line)
        lab = re.match(r'([0-9a-f]{16}) <(.*)>:$', line)
        if sec == '.text' and lab and not lab.group(2).startswith('LBB_'):
            base = int(lab.group(1), 16)
            key = f'.text {lab.group(2)}'
            out[key] = []
        if lab:
            line = f'{int(lab.group(1), 16) - base:016x} <{lab.group(2)}>:'
        ins = re.match(r'\s+(\d+):\t(.*)', line)
        if ins:
            line = f'{int(ins.group(1)) - base // 8:8d}:\t{ins.group(2)}'
        rel = re.match(r'\t\t([0-9a-f]{16}):  (\S+)\t(.*)', line)
        if rel:
            line = f'\t\t{int(rel.group(1), 16) - base:016x}:  {rel.group(2)}\t{rel.group(3)}'
            if rel.group(3) == '.text' and out[key]:
                out[key][-1] = re.sub(r'= (\d+) ll$', lambda v: '= <' + where(
                    funcs, '.text', int(v.group(1))) + '> ll', out[key][-1])
        out[key].append(line)
    return out, order


def main():
    path = sys.argv[1]
    secs, syms = elf_sections(path)
    types = btf_types(path)
    funcs = text_funcs(syms)
    code, order = disassembly(path, funcs)
    print('== sections that hold data: name, size, bytes (.bss: size only)')
    for name in sorted(secs):
        typ, body, size = secs[name]
        if name in code or name.startswith(('.BTF', '.rel', '.debug', '.llvm')) or \
           name in ('', '.strtab', '.symtab'):
            continue
        print(f'data {name} size={size} bytes={body.hex()}')
    print('== symbols: functions and objects, their section, offset and size (.text: no offset)')
    print('\n'.join(sorted(re.sub(r'^(sym \.text \S+ func) offset=\d+', r'\1', x) for x in syms)))
    print('== maps (.maps) and global variables (.rodata, .data, .bss, ...; offsets: symbols)')
    print('\n'.join(maps_and_vars(types)))
    print('== func_info and CO-RE relocations (.BTF.ext; line info left out)')
    print('\n'.join(btf_ext(secs, types, funcs)))
    print('== code, a section (.text: a function) at a time in name order')
    for sec in sorted(code):
        print(f'section {sec}')
        print('\n'.join(code[sec]))
    print('== code sections in file order (programs load in this order; informational)')
    print('\n'.join(order))
    print('== subprograms in .text order (libbpf copies each after the programs that use it)')
    print('\n'.join(f'.text {name}' for _, _, name in funcs))


if __name__ == '__main__':
    main()
