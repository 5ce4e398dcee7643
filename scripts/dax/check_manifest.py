#!/usr/bin/env python3
"""Check crates/dax-protocol/tests/fixtures/manifest.json against the fixture files (python3 stdlib only).

Exits non-zero if a listed file is missing, a file under crates/dax-protocol/tests/fixtures/ is not listed
(manifest.json itself excepted), a sha256 or size differs, an entry lacks a required field,
or a file is listed twice.

  python3 scripts/dax/check_manifest.py [FIXTURE_DIR]
"""
import hashlib
import json
import os
import sys

REQUIRED = ("file", "sha256", "direction", "client", "client_version", "call", "key_layout", "notes", "producer")


def main() -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "..", "crates", "dax-protocol", "tests", "fixtures")
    root = os.path.normpath(root)
    mpath = os.path.join(root, "manifest.json")
    errors = []
    try:
        with open(mpath, encoding="utf-8") as f:
            manifest = json.load(f)
    except (OSError, ValueError) as e:
        print(f"check_manifest: cannot read {mpath}: {e}")
        return 1
    listed = {}
    for i, e in enumerate(manifest.get("fixtures", [])):
        missing = [k for k in REQUIRED if k not in e]
        if missing:
            errors.append(f"entry {i} ({e.get('file')}): missing fields {missing}")
            continue
        if e["direction"] not in ("request", "response"):
            errors.append(f"{e['file']}: bad direction {e['direction']!r}")
        if e["file"] in listed:
            errors.append(f"{e['file']}: listed twice")
        listed[e["file"]] = e
    on_disk = set()
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            rel = os.path.relpath(os.path.join(dirpath, name), root).replace(os.sep, "/")
            if rel != "manifest.json":
                on_disk.add(rel)
    for rel in sorted(set(listed) - on_disk):
        errors.append(f"{rel}: listed in the manifest but missing")
    for rel in sorted(on_disk - set(listed)):
        errors.append(f"{rel}: present but not in the manifest")
    for rel in sorted(set(listed) & on_disk):
        with open(os.path.join(root, rel), "rb") as f:
            data = f.read()
        e = listed[rel]
        if hashlib.sha256(data).hexdigest() != e["sha256"]:
            errors.append(f"{rel}: sha256 differs from the manifest")
        if "size" in e and e["size"] != len(data):
            errors.append(f"{rel}: size {len(data)} != manifest {e['size']}")
    for err in errors:
        print("check_manifest: " + err)
    bad_files = {err.split(":", 1)[0] for err in errors}
    n = len(listed)
    print(f"check_manifest: {n} fixtures listed in {mpath}, {len(on_disk)} files on disk")
    print(f"check_manifest: {len(set(listed) - bad_files)} passed, {len(errors)} failed")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
