"""YAML as the builder reads it: PyYAML's safe loader, bounded in what a few hundred bytes can become.

An alias (`*name`) repeats its anchor's value without copying it, so a 600-byte file can hold a
billion values once expanded ("billion laughs"): nothing happens while it is parsed, but the build
serialises every value of `_data/` and of the config, and would run out of memory there. So the
document's values are counted as if every alias were expanded, and a file whose aliases add more than
`ALIAS_VALUES` values, or that nests deeper than `MAX_DEPTH`, is refused; so is an alias to a value that
holds it (a loop no page could show). The refusal is a `yaml.YAMLError`: each caller names the file.

libyaml (C) scans and parses the text, as `yaml.CSafeLoader` does; the document is composed in Python,
where its depth is checked before it is deep enough to overflow libyaml's own recursive composer.
"""

from __future__ import annotations

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, SequenceNode
from yaml.resolver import Resolver

ALIAS_VALUES = 100_000  # values that aliases may add to a document, beyond those written in it
MAX_DEPTH = 100  # lists and maps inside each other

try:
    from yaml.cyaml import CParser as Parser
except ImportError:  # PyYAML built without libyaml
    from yaml.parser import Parser as EventParser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class Parser(Reader, Scanner, EventParser):
        def __init__(self, stream):
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            EventParser.__init__(self)


class TooBig(yaml.YAMLError):
    "A document whose aliases or nesting would make it too big to use."


class Loader(Composer, Parser, SafeConstructor, Resolver):
    "yaml.SafeLoader's results, from libyaml's parser where there is one, with the bounds above."

    def __init__(self, stream):
        Parser.__init__(self, stream)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
        self.depth = 0

    def compose_node(self, parent, index):
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise TooBig(f"lists and maps are nested more than {MAX_DEPTH} deep")
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def get_single_data(self):
        node = self.get_single_node()
        if node is None:
            return None
        written, expanded = sizes(node)
        if expanded - written > ALIAS_VALUES:
            raise TooBig(
                f"its aliases (*name) expand its {written:,} values to {expanded:,}; they may add at most "
                f"{ALIAS_VALUES:,} (a YAML bomb?)"
            )
        return self.construct_document(node)


def load(text: str):
    "The one YAML document in `text`, as yaml.safe_load gives it; a `TooBig` one raises."
    return yaml.load(text, Loader=Loader)  # noqa: S506 (a safe loader)


def sizes(root: Node) -> tuple[int, int]:
    """(values as written, values with every alias expanded) of a composed document, in which an alias is the very
    node of its anchor. Each node is counted once, so a bomb's astronomic count takes no time. A loop raises."""
    expanded: dict[int, int] = {}
    open_: set[int] = set()  # nodes whose children are being counted: the path from the root
    todo: list[tuple[Node, bool]] = [(root, False)]
    while todo:
        node, children_done = todo.pop()
        if children_done:
            open_.discard(id(node))
            expanded[id(node)] = 1 + sum(expanded[id(c)] for c in children(node))
        elif id(node) in open_:
            raise TooBig("an alias stands for a value that holds the alias itself (a loop)")
        elif id(node) not in expanded:
            open_.add(id(node))
            todo.append((node, True))
            todo += [(c, False) for c in children(node)]
    return len(expanded), expanded[id(root)]


def children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return node.value
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []
