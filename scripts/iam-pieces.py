#!/usr/bin/env python3
"""Writes iam/<piece>.json and the pieces table in docs/iam.md from iam/pieces.json and
iam-policy.json. --check: exit 1, naming what is stale, instead of writing."""
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
BEGIN, END = "<!-- iam-pieces:begin (scripts/iam-pieces.py) -->", "<!-- iam-pieces:end -->"


def outputs() -> dict[pathlib.Path, str]:
    shipped = json.loads((ROOT / "iam-policy.json").read_text())
    by_sid = {s["Sid"]: s for s in shipped["Statement"]}
    pieces = json.loads((ROOT / "iam" / "pieces.json").read_text())["pieces"]
    placed = [sid for p in pieces.values() for sid in p["statements"]]
    missing = sorted(set(by_sid) - set(placed))
    twice = sorted({s for s in placed if placed.count(s) > 1})
    unknown = sorted(set(placed) - set(by_sid))
    if missing or twice or unknown:
        sys.exit(f"iam/pieces.json must place every statement of iam-policy.json once: "
                 f"missing {missing}, twice {twice}, unknown {unknown}")
    files = {}
    rows = ["| Piece | File | Needed by | Statements | Actions |", "|---|---|---|---|---|"]
    for name, piece in pieces.items():
        statements = [by_sid[s] for s in piece["statements"]]
        doc = {"Version": shipped["Version"], "Statement": statements}
        files[ROOT / "iam" / f"{name}.json"] = json.dumps(doc, indent=2) + "\n"
        actions = [a for s in statements for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])]
        rows.append(f"| `{name}` | [`iam/{name}.json`](../iam/{name}.json) | {piece['needed_by']} | "
                    + ", ".join(f"`{s}`" for s in piece["statements"]) + " | "
                    + ", ".join(f"`{a}`" for a in actions) + " |")
    docs = (ROOT / "docs" / "iam.md").read_text()
    start, end = docs.index(BEGIN), docs.index(END)
    files[ROOT / "docs" / "iam.md"] = docs[:start + len(BEGIN)] + "\n" + "\n".join(rows) + "\n" + docs[end:]
    return files


def main() -> None:
    stale = [p for p, text in outputs().items() if not p.exists() or p.read_text() != text]
    if "--check" in sys.argv:
        if stale:
            sys.exit("stale, run scripts/iam-pieces.py: " + ", ".join(str(p.relative_to(ROOT)) for p in stale))
        return
    for path, text in outputs().items():
        path.write_text(text)


if __name__ == "__main__":
    main()
