"""The layout's promise, checked on every run: which package may import which (the arrows
cogs/ → presentation/ → services (quota/, the jobs facade) → jobs/ → providers/, and whatever
stores → db/), and no import loop between packages.

Every import counts: at the top of a module, inside a function, under ``if TYPE_CHECKING:``
(a type-only import still ties the two packages together; use a Protocol). Only the body of
``if __name__ == "__main__":`` is left out: it runs when the file is a script, and a script
is not the module that others import. A failure names the file, the line and the import.
"""

from __future__ import annotations

import ast
import tomllib
from collections import defaultdict
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

LAYERS = ("cogs", "presentation", "quota", "jobs", "providers")  # each imports only rightwards
FORBIDDEN = {  # package -> what it never imports (shared/STYLE.md, "Dependency rules")
    "providers": {"discord", "cogs", "presentation", "jobs", "quota", "db"},
    "db": {"cogs", "presentation", "quota", "jobs", "providers", "bot", "cli", "settings"},
    # the error family's root, below every layer that raises (errors.py's docstring)
    "errors": {"cogs", "presentation", "quota", "jobs", "providers", "db", "bot", "cli"},
    "jobs": {"cogs", "presentation", "discord"},
    "cogs": {"db", "aiosqlite", "asyncpg", "httpx"},
    "presentation": {"db", "aiosqlite", "asyncpg", "httpx"},
}
# What cogs/ and presentation/ may use of jobs/: its records and facade, never the engine's
# internals (its store, queues, clock, policy, downloads, listeners).
JOBS_FACADE = {
    "jobs.records",  # the Job and its states
    "jobs.service",  # JobService: reading jobs, starting one
    "jobs.models",  # ModelChooser: which model a command uses
    "jobs.pricing",  # prices for a request
    "jobs.validation",  # a command's options against a model
    "jobs.errors",  # refusals
    "jobs.media",  # downloaded result files, handed to the Discord side
    "jobs.notifier",  # the protocol the Discord side implements
    "jobs.ttlcache",
}


@dataclass(frozen=True)
class Import:
    file: str  # relative to the repository
    line: int
    source: str  # the node (package or top-level module) that imports
    module: str  # the module imported, dotted

    @property
    def target(self) -> str:
        return self.module.split(".")[0]

    def __str__(self) -> str:
        return f"{self.file}:{self.line} imports {self.module}"


def bot_nodes(root: Path = ROOT) -> tuple[set[str], set[str]]:
    """The bot's packages and top-level modules, as pyproject.toml ships them."""
    project = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    patterns = project["packages"]["find"]["include"]
    packages = {
        path.parent.name
        for path in root.glob("*/__init__.py")
        if any(fnmatch(path.parent.name, pattern) for pattern in patterns)
    }
    return packages, set(project["py-modules"])


def _is_main_guard(node: ast.AST) -> bool:
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
        return False
    names = [node.test.left, *node.test.comparators]
    return any(isinstance(n, ast.Name) and n.id == "__name__" for n in names) and any(
        isinstance(n, ast.Constant) and n.value == "__main__" for n in names
    )


def _walk(tree: ast.AST):
    """Every node, except what sits under ``if __name__ == "__main__":``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(c for c in ast.iter_child_nodes(node) if not _is_main_guard(c))


def imports_of(path: Path, root: Path, known: set[str]) -> list[Import]:
    """The modules ``path`` imports, anywhere in it. ``from package import name`` counts as
    package.name when that is a module of the bot (``from db import guilds``)."""
    relative = path.relative_to(root)
    source = relative.parts[0].removesuffix(".py")
    here = list(relative.with_suffix("").parts)
    if here[-1] == "__init__":
        here.pop()
    found = []
    for node in _walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = here[: len(here) - node.level + (1 if path.stem == "__init__" else 0)]
                base = ".".join([*anchor, *([base] if base else [])])
            modules = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                for alias in node.names
            ]
        else:
            continue
        found += [Import(str(relative), node.lineno, source, m) for m in dict.fromkeys(modules)]
    return found


def bot_imports(root: Path = ROOT) -> list[Import]:
    packages, modules = bot_nodes(root)
    files = [p for package in packages for p in sorted((root / package).rglob("*.py"))]
    files += [root / f"{module}.py" for module in sorted(modules)]
    known = {
        ".".join(p.relative_to(root).with_suffix("").parts).removesuffix(".__init__") for p in files
    }
    return [found for path in files for found in imports_of(path, root, known)]


def broken_rules(imports: list[Import]) -> list[str]:
    """Each import that breaks a rule, with the rule it breaks."""
    broken = []
    for found in imports:
        source, target = found.source, found.target
        if target == source:
            continue
        if target in FORBIDDEN.get(source, ()):
            broken.append(f"{found}: {source}/ never imports {target}")
        elif source in LAYERS and target in LAYERS[: LAYERS.index(source)]:
            broken.append(f"{found}: {source}/ is below {target}/ (the arrows point one way)")
        elif source in ("cogs", "presentation") and target == "jobs":
            if found.module not in JOBS_FACADE:
                broken.append(
                    f"{found}: {source}/ reaches jobs/ through its records and facade only "
                    f"({', '.join(sorted(JOBS_FACADE))})"
                )
    return broken


def import_loops(imports: list[Import], nodes: set[str]) -> list[str]:
    """Each loop between packages (or top-level modules), named by the imports that make it."""
    edges: dict[str, dict[str, Import]] = defaultdict(dict)
    for found in imports:
        if found.target in nodes and found.target != found.source:
            edges[found.source].setdefault(found.target, found)
    loops = []
    for component in _strongly_connected(nodes, edges):
        if len(component) < 2:
            continue
        cycle = _cycle_in(component, edges)
        steps = [str(edges[a][b]) for a, b in zip(cycle, cycle[1:] + cycle[:1], strict=True)]
        loops.append(" → ".join(cycle + cycle[:1]) + ": " + "; ".join(steps))
    return loops


def _strongly_connected(nodes: set[str], edges: dict[str, dict[str, Import]]) -> list[list[str]]:
    """Tarjan's algorithm; the graph has a dozen nodes."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    components = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(edges.get(node, {})):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            components.append(sorted(component))

    for node in sorted(nodes):
        if node not in index:
            visit(node)
    return components


def _cycle_in(component: list[str], edges: dict[str, dict[str, Import]]) -> list[str]:
    """One cycle through the component's first node (breadth first: the shortest)."""
    start = component[0]
    paths = [[start]]
    while paths:
        path = paths.pop(0)
        for nxt in sorted(edges.get(path[-1], {})):
            if nxt == start:
                return path
            if nxt in component and nxt not in path:
                paths.append([*path, nxt])
    raise AssertionError(f"no cycle through {start}")


# --- the rules, on the bot as it is ---------------------------------------------------------


def test_every_package_keeps_to_the_dependency_rules():
    broken = broken_rules(bot_imports())
    assert not broken, "imports that break the dependency rules:\n" + "\n".join(broken)


def test_no_import_loop_between_packages():
    packages, modules = bot_nodes()
    loops = import_loops(bot_imports(), packages | modules)
    assert not loops, "import loops between packages:\n" + "\n".join(loops)


def test_cogs_and_presentation_reach_no_engine_or_database_through_the_bot():
    """An attribute is no import, so the rules above would miss ``bot.engine.jobs`` or
    ``bot.db``: the cogs and presentation use the bot's services instead."""
    reached = []
    for package in ("cogs", "presentation"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Attribute) and node.attr in ("engine", "db"):
                    reached.append(f"{path.relative_to(ROOT)}:{node.lineno} uses .{node.attr}")
    assert not reached, "\n".join(reached)


def test_the_check_reads_every_package_and_module_of_the_bot():
    packages, modules = bot_nodes()
    assert {"cogs", "presentation", "quota", "jobs", "providers", "db"} <= packages
    assert {"bot", "cli", "settings", "errors"} <= modules
    sources = {found.source for found in bot_imports()}
    assert sources == packages | modules


# --- the check itself can fail --------------------------------------------------------------


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    (tmp_path / "pyproject.toml").write_text(
        "[tool.setuptools]\n"
        'py-modules = ["bot"]\n'
        "[tool.setuptools.packages.find]\n"
        'include = ["cogs*", "presentation*", "quota*", "jobs*", "providers*", "db*"]\n'
    )
    for package in ("cogs", "presentation", "quota", "jobs", "providers", "db"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "bot.py").write_text("")
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


@pytest.mark.parametrize(
    ("name", "text", "said"),
    [
        ("cogs/credits.py", "from db import guilds\n", "cogs/ never imports db"),
        (
            "presentation/launch.py",
            "def f():\n    from db.jobs import Job\n",
            "presentation/launch.py:2 imports db.jobs: presentation/ never imports db",
        ),
        (
            "db/jobs.py",
            "import typing\nif typing.TYPE_CHECKING:\n    from providers.base import X\n",
            "db/jobs.py:3 imports providers.base: db/ never imports providers",
        ),
        ("providers/registry.py", "from jobs.errors import E\n", "providers/ never imports jobs"),
        ("jobs/engine.py", "from quota.service import Q\n", "jobs/ is below quota/"),
        ("jobs/notifier.py", "import discord\n", "jobs/ never imports discord"),
        ("cogs/results.py", "from jobs import engine\n", "imports jobs.engine: cogs/ reaches"),
        ("presentation/x.py", "from jobs.store import JobStore\n", "through its records"),
    ],
)
def test_a_broken_rule_is_named_with_its_file_and_import(tmp_path, name, text, said):
    root = _tree(tmp_path, {"jobs/engine.py": "", "jobs/store.py": "", name: text})
    broken = broken_rules(bot_imports(root))
    assert len(broken) == 1 and said in broken[0], broken


def test_the_facade_and_what_the_arrows_allow_pass(tmp_path):
    root = _tree(
        tmp_path,
        {
            "jobs/service.py": "from jobs.engine import E\nfrom db import jobs\n",
            "jobs/engine.py": "from providers.base import P\n",
            "cogs/video.py": "from jobs.service import S\nfrom presentation import launch\n",
            "presentation/launch.py": "from quota.service import Q\nfrom jobs.records import J\n",
            "quota/service.py": "from jobs.records import Job\nfrom db import ledger\n",
            "db/jobs.py": "import aiosqlite\nfrom db.database import D\n",
            "db/ledger.py": "",
        },
    )
    assert broken_rules(bot_imports(root)) == []
    assert import_loops(bot_imports(root), bot_nodes(root)[0] | {"bot"}) == []


def test_a_loop_is_named_by_its_imports_type_checking_ones_included(tmp_path):
    root = _tree(
        tmp_path,
        {
            "bot.py": "from presentation.launch import start\n",
            "presentation/launch.py": (
                "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from bot import Bot\n"
            ),
        },
    )
    (loop,) = import_loops(bot_imports(root), bot_nodes(root)[0] | {"bot"})
    assert loop == (
        "bot → presentation → bot: bot.py:1 imports presentation.launch; "
        "presentation/launch.py:3 imports bot"
    )


def test_a_script_block_is_not_an_import(tmp_path):
    root = _tree(
        tmp_path,
        {
            "bot.py": 'if __name__ == "__main__":\n    import cogs.x\n',
            "cogs/x.py": "import bot\n",
        },
    )
    assert import_loops(bot_imports(root), bot_nodes(root)[0] | {"bot"}) == []
    (tmp_path / "in_a_function").mkdir()
    root = _tree(
        tmp_path / "in_a_function",
        {"bot.py": "def main():\n    import cogs.x\n", "cogs/x.py": "import bot\n"},
    )
    assert len(import_loops(bot_imports(root), bot_nodes(root)[0] | {"bot"})) == 1


# --- the words members read are written in presentation/ only ------------------------------

RAISING_LAYERS = ("jobs", "quota", "providers", "db")  # where errors are raised, never worded


def _worded(node: ast.expr, namespace: dict) -> bool:
    """A string with words in it: an f-string, a literal with a space, or a module constant
    that is one. Keywords and codes (``aspect_ratio``, ``timeout``) have no space."""
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return any(c.isspace() for c in node.value.strip())
    if isinstance(node, ast.Name) and isinstance(namespace.get(node.id), str):
        return any(c.isspace() for c in namespace[node.id].strip())
    if isinstance(node, ast.Dict):  # a Failure's facts
        return any(_worded(value, namespace) for value in node.values)
    if isinstance(node, ast.BinOp | ast.IfExp):
        return any(_worded(child, namespace) for child in ast.iter_child_nodes(node))
    return False


def _resolve(node: ast.expr, namespace: dict) -> object:
    if isinstance(node, ast.Name):
        return namespace.get(node.id)
    if isinstance(node, ast.Attribute):
        owner = _resolve(node.value, namespace)
        return getattr(owner, node.attr, None) if owner is not None else None
    return None


def sentences_written(tree: ast.AST, namespace: dict, where: str) -> list[str]:
    """Each call that hands a member's refusal (a UserFacingError) or a job's Failure a
    sentence instead of facts. The provider errors are not among them: their message is the
    provider's own words for the log, quoted to the member only after "rejected the
    request:" by presentation/sentences/failures.py."""
    from jobs.records import Failure
    from providers.errors import UserFacingError

    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        callee = _resolve(node.func, namespace)
        member_facing = callee is Failure or (
            isinstance(callee, type) and issubclass(callee, UserFacingError)
        )
        if not member_facing:
            continue
        arguments = [*node.args, *(k.value for k in node.keywords)]
        if any(_worded(argument, namespace) for argument in arguments):
            found.append(f"{where}:{node.lineno}: {ast.unparse(node)[:120]}")
    return found


def test_members_sentences_are_written_in_presentation_not_where_errors_are_raised():
    import importlib

    found = []
    for package in RAISING_LAYERS:
        for path in sorted((ROOT / package).rglob("*.py")):
            dotted = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            module = importlib.import_module(dotted.removesuffix(".__init__"))
            tree = ast.parse(path.read_text())
            found += sentences_written(tree, vars(module), str(path.relative_to(ROOT)))
    assert not found, (
        "a member's sentence written where the error is raised; give the error its facts "
        "and word it in presentation/sentences/:\n" + "\n".join(found)
    )


@pytest.mark.parametrize(
    "source",
    [
        'raise InvalidRequest(f"`{model}` needs an input image.")',
        'raise PromptTooLong(model=m, length=n, limit="at most 20 characters")',
        "raise PromptEmpty(WORDS)",
        'return Failure("internal", {"detail": "Something went wrong. Sorry!"})',
    ],
)
def test_a_sentence_handed_to_a_members_error_is_found(source):
    from jobs.errors import InvalidRequest, PromptEmpty, PromptTooLong
    from jobs.records import Failure

    namespace = {
        "InvalidRequest": InvalidRequest,
        "PromptTooLong": PromptTooLong,
        "PromptEmpty": PromptEmpty,
        "Failure": Failure,
        "WORDS": "The prompt is empty.",
    }
    tree = ast.parse(f"def f():\n    {source}\n")
    assert len(sentences_written(tree, namespace, "jobs/x.py")) == 1


def test_facts_codes_and_the_providers_own_words_are_not_sentences():
    from jobs.errors import ChoiceNotOffered, PriceUnavailable
    from jobs.records import Failure, FailureCode
    from providers.errors import BadRequest

    namespace = {
        "ChoiceNotOffered": ChoiceNotOffered,
        "PriceUnavailable": PriceUnavailable,
        "Failure": Failure,
        "FailureCode": FailureCode,
        "BadRequest": BadRequest,
    }
    source = (
        "def f():\n"
        '    ChoiceNotOffered(model=m, option="aspect_ratio", value=v, allowed=("1:1",))\n'
        '    PriceUnavailable(provider=p, model=m, reason="timeout")\n'
        '    Failure(FailureCode.REJECTED, {"provider": p, "detail": clean(text)})\n'
        '    BadRequest(f"unknown model {m!r}", provider=p)\n'
    )
    assert sentences_written(ast.parse(source), namespace, "jobs/x.py") == []
