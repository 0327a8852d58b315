#!/usr/bin/env python3
"""Parses PowerShell scripts with tree-sitter-powershell (a grammar nobody here wrote) and fails,
naming the file, line and text, on any error or missing node. PowerShell does not run on the
machines that build ocs; this is the independent judge of what it generates.

    python3 scripts/judge-powershell.py FILE.ps1 [FILE.ps1 ...]
"""
import sys

import tree_sitter_powershell
from tree_sitter import Language, Parser

parser = Parser(Language(tree_sitter_powershell.language()))


def problems(node, source):
    if node.is_error or node.is_missing:
        line = node.start_point[0] + 1
        text = source[node.start_byte:node.end_byte][:80].decode("utf-8", "replace")
        yield f"line {line}: {'missing' if node.is_missing else 'error'} node {node.type!r} at {text!r}"
    for child in node.children:
        yield from problems(child, source)


failed = False
if len(sys.argv) < 2:
    sys.exit("usage: judge-powershell.py FILE.ps1 [FILE.ps1 ...]")
for path in sys.argv[1:]:
    source = open(path, "rb").read()
    found = list(problems(parser.parse(source).root_node, source))
    if not source.strip():
        found.append("the script is empty")
    for problem in found:
        print(f"judge-powershell: {path}: {problem}", file=sys.stderr)
    failed = failed or bool(found)
    if not found:
        lines = source.count(b"\n")
        print(f"judge-powershell: {path}: parses with no error node ({lines} lines)")
sys.exit(1 if failed else 0)
