"""What the installed flwr imports from `flwr.ee`, read from flwr's own source.

Flower imports its enterprise hooks in all-or-nothing blocks that fall back to the
open-source stand-ins on ImportError. A `flwr.ee` that lacks one name therefore changes
behaviour silently (e.g. `NoOpFederationManager.has_member` is false for every real
account). The launcher compares this list with what fedgate_flower.ee provides and
refuses to start on any gap.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

EE = "flwr.ee"
# import_module("flwr.ee.x.y") / a module-name constant such as _SGXT_MODULE = "flwr.ee.x"
_DYNAMIC = re.compile(r"""["'](flwr\.ee(?:\.[A-Za-z_][A-Za-z0-9_]*)+)["']""")


@dataclass(frozen=True)
class EeImport:
    """One name flwr imports: `module` is flwr.ee or a submodule; `name` None = the module itself."""

    module: str
    name: Optional[str]
    file: str
    line: int
    toplevel: bool = True  # imported when the module is (not inside a function)

    @property
    def qualified(self) -> str:
        return self.module if self.name is None else f"{self.module}:{self.name}"


def scan_flwr_source(flwr_root: Path) -> list[EeImport]:
    """Every `from flwr.ee[...] import NAME` and dynamically imported flwr.ee module in flwr_root."""
    found: list[EeImport] = []
    for path in sorted(flwr_root.rglob("*.py")):
        if _inside_ee(flwr_root, path):
            continue  # an installed enterprise package is refused elsewhere; never scan it
        text = path.read_text(encoding="utf-8", errors="replace")
        if EE not in text:
            continue
        relative = str(path.relative_to(flwr_root.parent))
        try:
            tree = ast.parse(text, filename=relative)
        except SyntaxError:
            continue
        found.extend(_Visitor(relative).collect(tree))
    return found


class _Visitor(ast.NodeVisitor):
    def __init__(self, file: str) -> None:
        self.file = file
        self.depth = 0
        self.found: list[EeImport] = []

    def collect(self, tree: ast.AST) -> list[EeImport]:
        self.visit(tree)
        return self.found

    def _function(self, node: ast.AST) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def _add(self, module: str, name: Optional[str], line: int) -> None:
        self.found.append(EeImport(module, name, self.file, line, self.depth == 0))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level == 0 and node.module and _is_ee(node.module):
            for alias in node.names:
                self._add(node.module, alias.name, node.lineno)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if _is_ee(alias.name):
                self._add(alias.name, None, node.lineno)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and _DYNAMIC.fullmatch(f'"{node.value}"'):
            self._add(node.value, None, node.lineno)


def module_name(file: str) -> str:
    """flwr/superlink/main.py -> flwr.superlink.main"""
    return file[: -len(".py")].replace("\\", "/").replace("/", ".").removesuffix(".__init__")


def _is_ee(module: str) -> bool:
    return module == EE or module.startswith(EE + ".")


def _inside_ee(flwr_root: Path, path: Path) -> bool:
    parts = path.relative_to(flwr_root).parts
    return len(parts) > 1 and parts[0] == "ee"


def installed_flwr_root() -> Path:
    import flwr  # pylint: disable=import-outside-toplevel

    return Path(flwr.__file__).resolve().parent


def unique(imports: Iterable[EeImport]) -> list[str]:
    return sorted({i.qualified for i in imports})
