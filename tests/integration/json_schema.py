#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks a --json document against its example in docs/json.md.

    json_schema.py DOC "kpgo merge" OUTPUT

The section's first ```json block is the example: every field the document may have, each with a
value of its type. A line "Optional: a, b.c" after the block names the fields that may be absent.
The output must have no field the example lacks, every field it has (optional ones aside), and
the same types; in an array, each element is checked against the example's first element.
"""
import json
import re
import sys


def section_example(doc_text, heading):
    match = re.search(r"^## " + re.escape(heading) + r"\s*$(.*?)(?=^## |\Z)", doc_text, re.M | re.S)
    if not match:
        sys.exit(f"json_schema: docs/json.md has no section '## {heading}'")
    body = match.group(1)
    block = re.search(r"```json\n(.*?)```", body, re.S)
    if not block:
        sys.exit(f"json_schema: section '{heading}' has no json example")
    optional = set()
    after = body[block.end():]
    line = re.search(r"^Optional: (.*)$", after, re.M)
    if line:
        optional = {name.strip() for name in line.group(1).split(",")}
    return json.loads(block.group(1)), optional


def kind(value):
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def compare(expected, actual, path, optional, problems):
    if kind(expected) != kind(actual):
        problems.append(f"{path or 'the document'} is {kind(actual)}, documented as {kind(expected)}")
        return
    if isinstance(expected, dict):
        for key in actual:
            if key not in expected:
                problems.append(f"{path + '.' if path else ''}{key} is not documented")
        for key, value in expected.items():
            where = f"{path}.{key}" if path else key
            if key in actual:
                compare(value, actual[key], where, optional, problems)
            elif where not in optional:
                problems.append(f"{where} is documented but missing")
    elif isinstance(expected, list) and expected:
        for i, item in enumerate(actual):
            compare(expected[0], item, f"{path}[{i}]", optional, problems)


def main():
    doc, heading, output = sys.argv[1:4]
    with open(doc) as f:
        example, optional = section_example(f.read(), heading)
    with open(output) as f:
        try:
            actual = json.load(f)
        except json.JSONDecodeError as e:
            sys.exit(f"json_schema: {output} is not one JSON document: {e}")
    problems = []
    compare(example, actual, "", optional, problems)
    if problems:
        sys.exit(f"json_schema: {heading} --json differs from docs/json.md:\n  " + "\n  ".join(problems))


if __name__ == "__main__":
    main()
