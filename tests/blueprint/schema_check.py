#!/usr/bin/env python3
"""Checks that docs/blueprint.schema.json agrees with leancut's blueprint parser.

The parser's verdicts live in tests/golden/blueprint/ (blueprint_test checks them):
  valid_*.json             the parser accepts them: the schema must accept them too;
  invalid_malformed_*.json not JSON at all: Python's reader must refuse them as well;
  invalid_semantic_*.json  wrong only in ways a schema cannot express (in >= out, duplicate
                           keys, fps strings out of range, seconds beyond 64-bit exactness): the
                           schema must accept them, which keeps this classification honest;
  invalid_*.json (others)  the schema must reject them, and at every place the parser
                           reports (its *.errors.txt paths): each diagnostic path must lie at
                           or under a path where the schema reports an error.
Every ```json block in docs/blueprint.md is a valid blueprint and must pass the schema.
"""
import argparse
import json
import pathlib
import re
import sys

import jsonschema


def load_json(path):
    # JSON proper: Python would otherwise accept NaN and Infinity.
    def no_constants(name):
        raise ValueError(f"{name} is not JSON")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=no_constants)


# One step of a diagnostic path: name, [3] or ["odd key"].
PATH_STEP = re.compile(r'\.?([A-Za-z_$][A-Za-z0-9_$]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]')


def parse_path(text):
    """'shots[3].in' -> ['shots', 3, 'in'] (the jsonschema error path form)."""
    steps, at = [], 0
    while at < len(text):
        m = PATH_STEP.match(text, at)
        if not m:
            raise ValueError(f"cannot read diagnostic path {text!r}")
        name, index, quoted = m.groups()
        steps.append(name if name is not None else int(index) if index is not None
                     else json.loads(quoted))
        at = m.end()
    return steps


def diagnostic_paths(errors_file):
    """The paths of the parser's diagnostics, from 'path: message' lines; [] for the document."""
    paths = []
    for line in errors_file.read_text(encoding="utf-8").splitlines():
        m = re.match(r'^((?:[A-Za-z_$][A-Za-z0-9_$]*|\[[^\]]*\])(?:\.[A-Za-z_$][A-Za-z0-9_$]*|\[(?:\d+|"(?:[^"\\]|\\.)*")\])*): ', line)
        paths.append(parse_path(m.group(1)) if m else [])
    return paths


def doc_examples(doc):
    blocks, block, inside = [], [], False
    for number, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1):
        if not inside and line == "```json":
            inside, block, start = True, [], number
        elif inside and line == "```":
            inside = False
            blocks.append((f"{doc.name}:{start}", json.loads("\n".join(block))))
        elif inside:
            block.append(line)
    return blocks


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schema", type=pathlib.Path, required=True)
    parser.add_argument("--golden", type=pathlib.Path, required=True)
    parser.add_argument("--docs", type=pathlib.Path, required=True)
    args = parser.parse_args()

    schema = load_json(args.schema)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)

    def schema_errors(instance):
        return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
                for e in validator.iter_errors(instance)]

    def schema_error_paths(instance):
        return [list(e.absolute_path) for e in validator.iter_errors(instance)]

    failures = []
    counts = {"valid": 0, "rejected": 0, "semantic": 0, "malformed": 0}

    valid = [(p.name, load_json(p)) for p in sorted(args.golden.glob("valid_*.json"))]
    examples = doc_examples(args.docs)
    if len(examples) < 2:
        failures.append(f"{args.docs}: expected at least two ```json examples")
    for name, instance in valid + examples:
        errors = schema_errors(instance)
        if errors:
            failures.append(f"{name}: the parser accepts it but the schema rejects it:\n  " +
                            "\n  ".join(errors))
        counts["valid"] += 1

    for path in sorted(args.golden.glob("invalid_*.json")):
        name = path.name
        try:
            instance = load_json(path)
        except ValueError as e:  # json.JSONDecodeError is a ValueError
            if name.startswith("invalid_malformed_"):
                counts["malformed"] += 1
            else:
                failures.append(f"{name}: not JSON ({e}); name it invalid_malformed_*")
            continue
        if name.startswith("invalid_malformed_"):
            failures.append(f"{name}: Python reads it as JSON, but the name says malformed")
            continue
        errors = schema_errors(instance)
        if name.startswith("invalid_semantic_"):
            if errors:
                failures.append(f"{name}: the schema rejects it, so it is not schema-inexpressible; "
                                "rename it invalid_*:\n  " + "\n  ".join(errors))
            counts["semantic"] += 1
        else:
            if not errors:
                failures.append(f"{name}: the parser rejects it but the schema accepts it")
            error_paths = schema_error_paths(instance)
            expected = path.with_suffix(".errors.txt")
            for diagnostic in diagnostic_paths(expected) if expected.exists() else []:
                if not any(diagnostic[:len(p)] == p for p in error_paths):
                    failures.append(f"{name}: the parser reports {diagnostic} but the schema "
                                    f"finds nothing there or above it; schema errors at "
                                    f"{error_paths}")
            counts["rejected"] += 1

    if counts["valid"] < 5 or counts["rejected"] < 5:
        failures.append(f"too few cases: {counts}")
    for failure in failures:
        print("FAIL", failure)
    print(f"schema_check: {counts['valid']} valid accepted, {counts['rejected']} invalid rejected, "
          f"{counts['semantic']} semantic-only accepted, {counts['malformed']} malformed refused; "
          f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
