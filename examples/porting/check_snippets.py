#!/usr/bin/env python3
"""Checks that the code blocks of a guide are the code the example compiles and runs.

A source region
    // snippet-begin: NAME
    ...
    // snippet-end
must appear in the guide as the fenced code block right after the line
    <!-- snippet: NAME -->
with the region's common indentation removed. Fails (exit 1, one message per problem) when a
block differs from its region, when the guide names a snippet no source has, when a source
snippet is missing from the guide, or when a name is used twice.
--mutate changes one line of the guide's first snippet before comparing, to show the check
fails on a difference (a CTest with WILL_FAIL runs it so).
"""
import argparse
import difflib
import re
import sys
import textwrap

BEGIN = re.compile(r"^\s*// snippet-begin: (\S+)\s*$")
END = re.compile(r"^\s*// snippet-end\s*$")
DOC_MARK = re.compile(r"^<!-- snippet: (\S+) -->\s*$")


def source_snippets(path, problems):
    found = {}
    name, lines = None, []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if name is None:
                m = BEGIN.match(line)
                if m:
                    name, lines = m.group(1), []
            elif END.match(line):
                if name in found:
                    problems.append(f"{path}:{number}: snippet {name} defined twice")
                found[name] = textwrap.dedent("".join(lines)).rstrip("\n")
                name = None
            else:
                lines.append(line)
    if name is not None:
        problems.append(f"{path}: snippet {name} has no snippet-end")
    return found


def doc_snippets(text, path, problems):
    found = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = DOC_MARK.match(lines[i])
        if not m:
            i += 1
            continue
        name = m.group(1)
        if i + 1 >= len(lines) or not lines[i + 1].startswith("```"):
            problems.append(f"{path}:{i + 1}: snippet {name} is not followed by a code block")
            i += 1
            continue
        end = i + 2
        while end < len(lines) and not lines[end].startswith("```"):
            end += 1
        if name in found:
            problems.append(f"{path}:{i + 1}: snippet {name} shown twice")
        found[name] = "\n".join(lines[i + 2:end])
        i = end + 1
    return found


def compare(doc, sources, doc_path, problems):
    for name, text in doc.items():
        if name not in sources:
            problems.append(f"{doc_path}: snippet {name} is in no source")
            continue
        path, code = sources[name]
        if text != code:
            diff = difflib.unified_diff(code.splitlines(), text.splitlines(),
                                        f"{path} ({name})", f"{doc_path} ({name})", lineterm="")
            problems.append("\n".join(diff))
    for name, (path, _) in sources.items():
        if name not in doc:
            problems.append(f"{path}: snippet {name} is not in {doc_path}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--doc", required=True)
    parser.add_argument("--mutate", action="store_true")
    parser.add_argument("sources", nargs="+")
    args = parser.parse_args()

    problems = []
    sources = {}
    for path in args.sources:
        for name, text in source_snippets(path, problems).items():
            if name in sources:
                problems.append(f"{path}: snippet {name} also defined in {sources[name][0]}")
            sources[name] = (path, text)
    with open(args.doc, encoding="utf-8") as f:
        doc_text = f.read()
    doc = doc_snippets(doc_text, args.doc, problems)
    compare(doc, sources, args.doc, problems)
    if args.mutate:
        # Only a guide that matches shows anything by failing once changed.
        if problems or not doc:
            print("the unchanged guide does not match its sources; nothing to show")
            return 0
        first = next(iter(doc))
        doc[first] = doc[first].replace("\n", "\n// changed\n", 1)
        compare(doc, sources, args.doc, problems)
    for problem in problems:
        print(problem)
    if not problems:
        print(f"{len(doc)} snippets of {args.doc} match the sources")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
