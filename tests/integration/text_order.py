#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks a kernel build's text order, as kpgo's linker script lays it out.

text_order.py LLVM_MAJOR BUILD_DIR [--hot MIN]: in BUILD_DIR/vmlinux, every function the compiler
put in .text.unlikely* comes before every one in .text.hot*, the first hot function starts a
page (after its padding), and plain .text functions come after the hot ones. The sections are read from vmlinux.o
(kbuild's relocatable link of everything built in, where each input section keeps its name);
a static name that several objects define is left out, since vmlinux's symbol table cannot tell
them apart. --hot MIN: at least MIN hot functions (an optimized build's profile puts hundreds
there; a build without a profile only the few marked __hot). Prints the counts and addresses.
"""
import argparse
import collections
import subprocess
import sys

PAGE = 4096
# What may come between the page boundary and the first hot function: its padding
# (CONFIG_FUNCTION_PADDING_BYTES, 16 on x86_64) and its alignment.
PADDING = 64


def defined_once(pairs):
    """The (name, value) pairs as a dict, without names defined more than once (statics)."""
    pairs = list(pairs)
    seen = collections.Counter(name for name, _ in pairs)
    return {name: value for name, value in pairs if seen[name] == 1}


def nm_lines(nm, *args):
    return subprocess.run([nm, "--defined-only", *args], capture_output=True, text=True,
                          check=True).stdout.splitlines()


def symbols_by_section(nm, vmlinux_o):
    """Function name -> section name in the relocatable vmlinux.o (sysv format: one per line)."""
    rows = ([f.strip() for f in line.split("|")] for line in nm_lines(nm, "--format=sysv", vmlinux_o))
    return defined_once((f[0], f[6]) for f in rows if len(f) >= 7 and f[3] == "FUNC")


def addresses(nm, vmlinux):
    """Function name -> address in vmlinux, for names defined once as text there."""
    rows = (line.split() for line in nm_lines(nm, vmlinux))
    return defined_once((p[2], int(p[0], 16)) for p in rows if len(p) == 3 and p[1] in "tTwW")


def temperature(name, section):
    if section.startswith(".text.unlikely") or section.startswith(".text.split"):
        return "unlikely"
    if section.startswith(".text.hot"):
        return "hot"
    # Plain: .text, or with function sections (LTO) a section of the function's own name.
    if section in (".text", ".text." + name):
        return "plain"
    return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("llvm_major")
    parser.add_argument("build_dir")
    parser.add_argument("--hot", type=int, default=1)
    args = parser.parse_args()
    nm = f"llvm-nm-{args.llvm_major}"
    sections = symbols_by_section(nm, f"{args.build_dir}/vmlinux.o")
    where = addresses(nm, f"{args.build_dir}/vmlinux")
    groups = collections.defaultdict(list)
    for name, section in sections.items():
        kind = temperature(name, section)
        if kind and name in where:
            groups[kind].append(where[name])
    counts = {kind: len(groups[kind]) for kind in ("unlikely", "hot", "plain")}
    print(f"text order: {counts}")
    problems = []
    if counts["hot"] < args.hot:
        problems.append(f"{counts['hot']} hot functions, fewer than {args.hot}")
    if not counts["unlikely"] or not counts["plain"]:
        problems.append("no unlikely or no plain functions found")
    if problems:
        sys.exit("text order: " + "; ".join(problems))
    last_unlikely, first_plain = max(groups["unlikely"]), min(groups["plain"])
    if not groups["hot"]:
        print(f"text order: unlikely up to {last_unlikely:#x}, plain from {first_plain:#x}")
        if last_unlikely > first_plain:
            problems.append(f"an unlikely function at {last_unlikely:#x} after the first plain one")
    else:
        first_hot, last_hot = min(groups["hot"]), max(groups["hot"])
        print(f"text order: unlikely up to {last_unlikely:#x}, hot {first_hot:#x}-{last_hot:#x}, "
              f"plain from {first_plain:#x}")
        if last_unlikely > first_hot:
            problems.append(f"an unlikely function at {last_unlikely:#x} after the first hot one")
        if first_hot % PAGE > PADDING or last_unlikely > first_hot - first_hot % PAGE:
            problems.append(f"the hot functions start at {first_hot:#x}, not on a page boundary")
        if last_hot > first_plain:
            problems.append(f"a hot function at {last_hot:#x} after the first plain one")
    if problems:
        sys.exit("text order: " + "; ".join(problems))


if __name__ == "__main__":
    main()
