#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Prints the GNU build ID in a file of ELF notes, as the kernel exports its own in
/sys/kernel/notes: kpgo's fleet playbook runs it on each machine to see which kernel is up."""
import struct
import sys

NT_GNU_BUILD_ID = 3


def build_id(data):
    offset = 0
    while offset + 12 <= len(data):
        namesz, descsz, kind = struct.unpack_from("<III", data, offset)
        name_at = offset + 12
        desc_at = name_at + (namesz + 3) // 4 * 4
        end = desc_at + (descsz + 3) // 4 * 4
        if end > len(data):
            break
        if kind == NT_GNU_BUILD_ID and data[name_at:name_at + namesz].rstrip(b"\0") == b"GNU":
            return data[desc_at:desc_at + descsz].hex()
        offset = end
    return ""


if __name__ == "__main__":
    with open(sys.argv[1], "rb") as notes:
        found = build_id(notes.read())
    if not found:
        sys.exit(f"{sys.argv[1]}: no GNU build ID note")
    print(found)
