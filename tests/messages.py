"""Every sentence an operator may be asked about, read out of the source with ``ast``: the
one-line start-up and command-line errors and every refusal or failure a member can see.

The operator guide's troubleshooting tables must quote each of them (tests/test_operating_guide.py),
so a message added or reworded in the code fails the suite until the guide follows.

What counts as a message:
- everything a function in MESSAGE_MODULES returns or assigns: presentation/sentences/, where
  every member's sentence is written (refusals carry facts, failures are stored as facts, and
  these functions word them; tests/test_dependency_rules.py keeps sentences out of the layers
  that raise);
- the message argument of every call to an operator's error class in ERROR_CLASSES (``raise
  StartupError(f"...")``), ConfigError's as "VARIABLE problem";
- the f-string an error class builds in its own ``__init__`` (SchemaTooNew);
- what a message-building function returns or assigns;
- cli.py's ``fail(...)`` and ``log.error(...)`` lines.
A message argument that only forwards a sentence built elsewhere must be listed in FORWARDS
with the function that builds it; anything else the collector cannot read fails the test.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("bot.py", "cli.py", "settings.py", "cogs", "db", "jobs", "presentation", "quota")
EXTRA_SOURCES = ("providers/registry.py",)
HOLE = "\x00"  # where a value is filled in at run time

# The operator's errors, worded where they are raised (errors.Audience.OPERATOR). A member's
# refusal carries facts, never a sentence: UserFacingError takes keywords only.
ERROR_CLASSES = frozenset(
    {"ConfigError", "StartupError", "SchemaTooNew", "BackupError", "CopyRefused"}
)
MESSAGE_MODULES = "presentation/sentences/"  # every module of the package but _words.py
NOT_MESSAGES = ("presentation/sentences/_words.py",)  # which function words which error
# (file, enclosing function, argument as written) -> the function that builds the sentence
FORWARDS = {
    ("cli.py", "_migrate", "str(exc)"): "SchemaTooNew",
    ("cli.py", "_backup", "str(exc)"): "backup",
    ("cli.py", "_copy", "str(exc)"): "copy_database",
}
CLI_LINES = frozenset({"fail", "error"})  # cli.py: fail(...) and log.error(...)


@dataclass(frozen=True)
class Message:
    where: str  # file:line
    template: str  # with HOLE where a value goes

    def fragments(self) -> list[str]:
        """The literal pieces worth quoting: two words or more, whitespace collapsed."""
        pieces = (" ".join(part.split()) for part in re.split(rf"{HOLE}|%[sd]", self.template))
        return [p for p in pieces if len(re.findall(r"[A-Za-z]{2,}", p)) >= 2]

    def shown(self) -> str:
        return self.template.replace(HOLE, "…")


class _Module:
    def __init__(self, path: Path) -> None:
        self.name = path.relative_to(ROOT).as_posix()
        self.tree = ast.parse(path.read_text(encoding="utf-8"))
        self.constants: dict[str, ast.expr] = {}
        self.functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
        for node in ast.walk(self.tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                self.functions.setdefault(node.name, node)
        for node in self.tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
                if isinstance(target, ast.Name) and target.id.isupper():
                    self.constants[target.id] = node.value


def _modules() -> list[_Module]:
    paths: list[Path] = []
    for source in SOURCES:
        path = ROOT / source
        paths += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    paths += [ROOT / extra for extra in EXTRA_SOURCES]
    return [_Module(p) for p in paths]


def _stringish(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _stringish(node.left) or _stringish(node.right)
    if isinstance(node, ast.IfExp):
        return _stringish(node.body) or _stringish(node.orelse)
    return False


class Collector:
    def __init__(self) -> None:
        self.modules = _modules()
        self.constants = {k: v for m in self.modules for k, v in m.constants.items()}
        self.functions = {k: v for m in self.modules for k, v in m.functions.items()}
        self.found: list[Message] = []
        self.unreadable: list[str] = []
        self.forwarded: set[str] = set()

    # --- rendering an expression into templates (alternatives) --------------------------

    def render(self, node: ast.expr) -> list[str]:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return [node.value]
        if isinstance(node, ast.JoinedStr):
            return [
                "".join(
                    part.value if isinstance(part, ast.Constant) else HOLE for part in node.values
                )
            ]
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return [a + b for a in self.render(node.left) for b in self.render(node.right)]
        if isinstance(node, ast.IfExp):
            return self.render(node.body) + self.render(node.orelse)
        if isinstance(node, ast.Name) and node.id in self.constants:
            return self.render(self.constants[node.id])
        return [HOLE]

    def _function_messages(
        self, name: str, function: ast.FunctionDef | ast.AsyncFunctionDef | None = None
    ) -> list[str]:
        """What a message-building function returns, and the pieces it assigns on the way
        (``function`` when the name alone is ambiguous: a module's own)."""
        function = function or self.functions[name]
        found: list[str] = []
        for node in ast.walk(function):
            if isinstance(node, ast.Return) and node.value is not None:
                if _stringish(node.value) or isinstance(node.value, ast.Name):
                    found += self.render(node.value)
            elif isinstance(node, ast.Assign) and _stringish(node.value):
                found += self.render(node.value)
            elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Tuple):
                found += [t for e in node.value.elts if _stringish(e) for t in self.render(e)]
        return found

    # --- the rules ------------------------------------------------------------------------

    def _argument(self, module: _Module, function: str, call: ast.Call, node: ast.expr) -> None:
        where = f"{module.name}:{call.lineno}"
        if _stringish(node) or (isinstance(node, ast.Name) and node.id in self.constants):
            self._add(where, self.render(node))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and (node.func.id in self.functions and node.func.id not in ERROR_CLASSES)
        ):
            self._add(where, self._function_messages(node.func.id))
        else:
            producer = FORWARDS.get((module.name, function, ast.unparse(node)))
            if producer is None:
                self.unreadable.append(f"{where}: {ast.unparse(call)}")
            else:
                self.forwarded.add(producer)

    def _add(self, where: str, templates: list[str]) -> None:
        self.found += [Message(where, t) for t in templates]

    def collect(self) -> list[Message]:
        for module in self.modules:
            self._visit(module, module.tree, "")
            if module.name.startswith(MESSAGE_MODULES) and module.name not in NOT_MESSAGES:
                for name, function in module.functions.items():
                    if not name.startswith("__"):
                        self._add(
                            f"{module.name}:{function.lineno}",
                            self._function_messages(name, function),
                        )
        for producer in sorted(self.forwarded):
            if producer in self.functions and producer not in ERROR_CLASSES:
                self._add(f"(built by {producer})", self._function_messages(producer))
        return self.found

    def _visit(self, module: _Module, node: ast.AST, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            inner = function
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                inner = child.name
            if isinstance(child, ast.ClassDef) and child.name in ERROR_CLASSES:
                self._class_init(module, child)
            if isinstance(child, ast.Call):
                self._call(module, function, child)
            self._visit(module, child, inner)

    def _call(self, module: _Module, function: str, call: ast.Call) -> None:
        name = call.func.id if isinstance(call.func, ast.Name) else None
        attribute = call.func.attr if isinstance(call.func, ast.Attribute) else None
        if name in ERROR_CLASSES and call.args:
            if name == "ConfigError" and len(call.args) == 2:
                variables = self.render(call.args[0])
                problems = self.render(call.args[1])
                self._add(
                    f"{module.name}:{call.lineno}",
                    [f"{v} {p}" for v in variables for p in problems],
                )
            elif name != "SchemaTooNew":
                self._argument(module, function, call, call.args[0])
        elif module.name == "cli.py" and (name or attribute) in CLI_LINES and call.args:
            if name == "fail" or (attribute == "error" and ast.unparse(call.func) == "log.error"):
                self._argument(module, function, call, call.args[0])

    def _class_init(self, module: _Module, cls: ast.ClassDef) -> None:
        """An error class that words its own message: super().__init__(f"...")."""
        for node in ast.walk(cls):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "__init__"
                and node.args
                and _stringish(node.args[0])
            ):
                self._add(f"{module.name}:{node.lineno}", self.render(node.args[0]))


def collect() -> tuple[list[Message], list[str]]:
    """(the messages, the call sites the collector could not read)."""
    collector = Collector()
    return collector.collect(), collector.unreadable


if __name__ == "__main__":  # python -m tests.messages: every message, to write the guide from
    messages, unreadable = collect()
    for message in messages:
        print(f"{message.where}\t{message.shown()}")
    for site in unreadable:
        print(f"UNREADABLE {site}")
