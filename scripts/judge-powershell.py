#!/usr/bin/env python3
"""Parses PowerShell scripts with tree-sitter-powershell (a grammar nobody here wrote) and fails,
naming the file, line and text, on any error or missing node. PowerShell does not run on the
machines that build ocs; this is the independent judge of what it generates.

With --values FILE (a JSON array of strings), it also judges where those values landed: each must
be the content, or part of it, of a single-quoted literal in one of the scripts, and wherever its
quoted form occurs in a script it must lie inside such a literal or a comment, never in code.

    python3 scripts/judge-powershell.py [--values VALUES.json] FILE.ps1 [FILE.ps1 ...]
"""
import json
import sys

import tree_sitter_powershell
from tree_sitter import Language, Parser

parser = Parser(Language(tree_sitter_powershell.language()))
QUOTES = "'\u2018\u2019\u201a\u201b"


def problems(node, source):
    if node.is_error or node.is_missing:
        line = node.start_point[0] + 1
        text = source[node.start_byte:node.end_byte][:80].decode("utf-8", "replace")
        yield f"line {line}: {'missing' if node.is_missing else 'error'} node {node.type!r} at {text!r}"
    for child in node.children:
        yield from problems(child, source)


def nodes(node, types):
    if node.type in types:
        yield node
    for child in node.children:
        yield from nodes(child, types)


def quoted(value):
    """The value as a single-quoted literal's content: every quote character doubled."""
    return "".join(c + c if c in QUOTES else c for c in value)


def decoded(text):
    """The value of a single-quoted literal 'it''s': outer quotes off, doubled quotes single."""
    inner, out, i = text[1:-1], [], 0
    while i < len(inner):
        out.append(inner[i])
        i += 2 if inner[i] in QUOTES and i + 1 < len(inner) and inner[i + 1] in QUOTES else 1
    return "".join(out)


args = sys.argv[1:]
values = None
if args[:1] == ["--values"]:
    values = json.load(open(args[1], encoding="utf-8"))
    args = args[2:]
if not args:
    sys.exit("usage: judge-powershell.py [--values VALUES.json] FILE.ps1 [FILE.ps1 ...]")

failed = False
literals, placements = [], []
for path in args:
    source = open(path, "rb").read()
    tree = parser.parse(source)
    found = list(problems(tree.root_node, source))
    if not source.strip():
        found.append("the script is empty")
    # Windows files: CRLF line ends; values are compared with LF.
    text = source.decode("utf-8-sig").replace("\r\n", "\n")
    safe = [(n.start_byte, n.end_byte) for n in nodes(tree.root_node, {"verbatim_string_characters", "comment"})]
    literals += [decoded(source[n.start_byte:n.end_byte].decode("utf-8").replace("\r\n", "\n"))
                 for n in nodes(tree.root_node, {"verbatim_string_characters"})]
    placements.append((path, source, safe))
    for problem in found:
        print(f"judge-powershell: {path}: {problem}", file=sys.stderr)
    failed = failed or bool(found)
    if not found:
        lines = source.count(b"\n")
        print(f"judge-powershell: {path}: parses with no error node ({lines} lines)")

for value in values or []:
    value = value.replace("\r\n", "\n")
    if not any(value in literal for literal in literals):
        print(f"judge-powershell: the value {value!r} is in no single-quoted literal", file=sys.stderr)
        failed = True
    forms = {quoted(value).encode("utf-8"), quoted(value).replace("\n", "\r\n").encode("utf-8")}
    for path, source, safe in placements:
        for needle in forms:
            start = source.find(needle)
            while start >= 0:
                if not any(a <= start and start + len(needle) <= b for a, b in safe):
                    print(f"judge-powershell: {path}: the value {value!r} is outside a single-quoted literal at byte {start}", file=sys.stderr)
                    failed = True
                start = source.find(needle, start + 1)
if values is not None:
    print(f"judge-powershell: {len(values)} values judged" + ("" if failed else ": each is data, inside single-quoted literals only"))
sys.exit(1 if failed else 0)
