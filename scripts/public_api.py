#!/usr/bin/env python3
"""One import path per public item: reads rustdoc's JSON of a library crate and fails when an
item is reachable by two public paths (`tether_client::Config` and `tether_client::core::Config`).

Usage: public_api.py CRATE.json [--list] [--report-only]

Walks the crate from its root through public modules and `pub use` re-exports (globs too). An
item of another crate counts by its path there; when a whole crate is re-exported as a module
(`pub use tether_wire as protocol`), every item of it is reachable under that module as well.
Items marked `#[doc(hidden)]` are not in rustdoc's JSON, so they are not part of the count:
hidden is how the crate says "not API".

Prints the counts: public types (structs, enums, unions, traits, type aliases), items (the
types, functions, constants, statics, macros and modules reachable, plus the public fields,
variants and associated items of the types) and duplicates. Exits 1 when a duplicate exists.
"""
import json
import sys

TYPE_KINDS = {"struct", "enum", "union", "trait", "type_alias", "trait_alias"}


class Crate:
    def __init__(self, doc):
        self.index = doc["index"]
        self.paths = doc["paths"]
        self.crates = {int(k): v["name"] for k, v in doc["external_crates"].items()}
        self.root = str(doc["root"])
        self.name = self.index[self.root]["name"]
        self.found = {}  # key -> set of paths
        self.kinds = {}  # key -> kind
        self.whole = {}  # external crate id -> path it is re-exported at
        self.members = 0

    def key(self, item_id):
        """A stable key of an item: local ids as they are, external ones by their path."""
        item_id = str(item_id)
        if item_id in self.index:
            return ("local", item_id)
        summary = self.paths.get(item_id)
        if summary is None:
            return ("unknown", item_id)
        return (self.crates.get(summary["crate_id"], "?"), "::".join(summary["path"]))

    def record(self, item_id, path, kind):
        k = self.key(item_id)
        self.found.setdefault(k, set()).add("::".join(path))
        self.kinds[k] = kind

    def walk(self, module_id, path, seen):
        if module_id in seen:
            return
        seen = seen | {module_id}
        module = self.index[module_id]["inner"]["module"]
        for child in map(str, module["items"]):
            item = self.index.get(child)
            if item is None or item["visibility"] != "public":
                continue
            kind, inner = next(iter(item["inner"].items()))
            if kind == "use":
                self.walk_use(inner, path, seen)
            elif kind == "module":
                self.record(child, path + [item["name"]], "module")
                self.walk(child, path + [item["name"]], seen)
            elif kind != "impl":
                self.record(child, path + [item["name"]], kind)

    def walk_use(self, use, path, seen):
        target = None if use["id"] is None else str(use["id"])
        if target is None:
            return
        if use["is_glob"]:
            if target in self.index:
                self.walk(target, path, seen)
            return
        new_path = path + [use["name"]]
        if target in self.index:
            item = self.index[target]
            kind = next(iter(item["inner"]))
            self.record(target, new_path, kind)
            if kind == "module":
                self.walk(target, new_path, seen)
            return
        summary = self.paths.get(target)
        if summary is None:
            return
        self.record(target, new_path, summary["kind"])
        if summary["kind"] == "module" and len(summary["path"]) == 1:
            self.whole[summary["crate_id"]] = new_path

    def expand_whole_crates(self):
        """Items of a crate re-exported whole are reachable under it too."""
        for k in list(self.found):
            for crate_id, at in self.whole.items():
                if k[0] == self.crates.get(crate_id) and "::" in k[1]:
                    self.found[k].add("::".join(at + k[1].split("::")[1:]))

    def count_members(self):
        """Public fields, variants and inherent associated items of the local types found."""
        total = 0
        for k, kind in self.kinds.items():
            if k[0] != "local" or kind not in {"struct", "enum", "union", "trait"}:
                continue
            inner = self.index[k[1]]["inner"][kind]
            members = []
            if kind == "struct" and "plain" in (inner.get("kind") or {}):
                members += inner["kind"]["plain"]["fields"]
            if kind == "enum":
                members += inner["variants"]
            if kind == "trait":
                members += inner["items"]
            for impl_id in inner.get("impls", []):
                impl = self.index.get(str(impl_id), {}).get("inner", {}).get("impl")
                if impl and impl["trait"] is None and not impl.get("is_synthetic"):
                    members += impl["items"]
            for m in map(str, members):
                item = self.index.get(m)
                if item and (item["visibility"] in ("public", "default") or kind != "struct"):
                    total += 1
        return total


def main():
    doc = json.load(open(sys.argv[1]))
    crate = Crate(doc)
    crate.walk(crate.root, [crate.name], frozenset())
    crate.expand_whole_crates()
    types = sum(1 for k, kind in crate.kinds.items() if kind in TYPE_KINDS)
    items = len(crate.found) + crate.count_members()
    dups = sorted((sorted(p) for p in crate.found.values() if len(p) > 1))
    if "--list" in sys.argv:
        for k in sorted(crate.found, key=lambda k: sorted(crate.found[k])[0]):
            print(crate.kinds[k], " | ".join(sorted(crate.found[k])))
    print(f"{crate.name}: {types} public types, {items} public items, {len(dups)} reachable by two paths")
    for paths in dups:
        print(f"  {len(paths)} paths: " + " and ".join(paths))
    return 1 if dups and "--report-only" not in sys.argv else 0


if __name__ == "__main__":
    sys.exit(main())
