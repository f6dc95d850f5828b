"""Safe conditions for rules: a tiny expression language compiled from Python's ``ast``.

Allowed: names of known inputs, constants (numbers, strings, booleans written
True/true, None), tuples and lists (for ``in``), comparisons (chains too),
``and``/``or``/``not``, unary minus and ``+ - * / // %`` on numbers, and
``x if c else y``. Everything else (calls, attributes, subscripts, lambdas,
comprehensions, ``**``) is refused when the rule pack loads. Nothing is passed to
``eval``: the tree is turned into plain closures, and arithmetic refuses non-numbers
so that ``"x" * 10**9`` cannot run.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from typing import Any, TypeGuard

Evaluator = Callable[[Mapping[str, Any]], Any]


class ExpressionError(ValueError):
    """A condition uses something outside the allowed language."""


_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}

_ARITH: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}

MAX_LENGTH = 500
# YAML authors write true/false; accept them alongside Python's True/False.
_LITERALS = {"true": True, "false": False}


def _is_number(value: Any) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(value: Any, source: str) -> float:
    if not _is_number(value):
        raise TypeError(f"arithmetic on a non-number in {source!r}")
    return value


class _Compiler:
    def __init__(self, names: frozenset[str], source: str) -> None:
        self.names = names
        self.source = source
        self.used: list[str] = []

    def fail(self, node: ast.AST, what: str) -> ExpressionError:
        col = getattr(node, "col_offset", 0)
        return ExpressionError(f"{what} is not allowed (at column {col + 1})")

    def compile(self, node: ast.AST) -> Evaluator:  # noqa: C901 - one branch per node type
        if isinstance(node, ast.Expression):
            return self.compile(node.body)
        if isinstance(node, ast.Constant):
            value = node.value
            if value is not None and not isinstance(value, bool | int | float | str):
                raise self.fail(node, f"constant {value!r}")
            return lambda ctx: value
        if isinstance(node, ast.Name) and node.id in _LITERALS:
            literal = _LITERALS[node.id]
            return lambda ctx: literal
        if isinstance(node, ast.Name):
            name = node.id
            if name not in self.names:
                raise ExpressionError(f"unknown name {name!r}")
            if name not in self.used:
                self.used.append(name)
            return lambda ctx: ctx[name]
        if isinstance(node, ast.Tuple | ast.List):
            items = [self.compile(elt) for elt in node.elts]
            return lambda ctx: tuple(item(ctx) for item in items)
        if isinstance(node, ast.BoolOp):
            parts = [self.compile(value) for value in node.values]
            if isinstance(node.op, ast.And):
                return lambda ctx: all(part(ctx) for part in parts)
            return lambda ctx: any(part(ctx) for part in parts)
        if isinstance(node, ast.UnaryOp):
            operand = self.compile(node.operand)
            source = self.source
            if isinstance(node.op, ast.Not):
                return lambda ctx: not operand(ctx)
            if isinstance(node.op, ast.USub):
                return lambda ctx: -_number(operand(ctx), source)
            if isinstance(node.op, ast.UAdd):
                return lambda ctx: _number(operand(ctx), source)
            raise self.fail(node, type(node.op).__name__)
        if isinstance(node, ast.BinOp):
            op = _ARITH.get(type(node.op))
            if op is None:
                raise self.fail(node, f"operator {type(node.op).__name__}")
            left, right = self.compile(node.left), self.compile(node.right)
            source = self.source
            return lambda ctx: op(_number(left(ctx), source), _number(right(ctx), source))
        if isinstance(node, ast.Compare):
            first = self.compile(node.left)
            ops = []
            for op_node, comparator in zip(node.ops, node.comparators, strict=True):
                fn = _COMPARE.get(type(op_node))
                if fn is None:
                    raise self.fail(node, f"comparison {type(op_node).__name__}")
                ops.append((fn, self.compile(comparator)))

            def compare(ctx: Mapping[str, Any]) -> bool:
                left = first(ctx)
                for fn, right_eval in ops:
                    right = right_eval(ctx)
                    if not fn(left, right):
                        return False
                    left = right
                return True

            return compare
        if isinstance(node, ast.IfExp):
            test, body, orelse = (self.compile(n) for n in (node.test, node.body, node.orelse))
            return lambda ctx: body(ctx) if test(ctx) else orelse(ctx)
        raise self.fail(node, type(node).__name__)


def compile_condition(source: str, names: frozenset[str]) -> tuple[Evaluator, tuple[str, ...]]:
    """Compile ``source`` to an evaluator over a context mapping.

    Returns the evaluator and the input names it reads, in order of first use (the
    engine reports their values as the inputs that fired a rule). Raises
    ``ExpressionError`` for syntax errors, unknown names and forbidden constructs.
    """
    if not isinstance(source, str) or not source.strip():
        raise ExpressionError("condition must be a non-empty string")
    if len(source) > MAX_LENGTH:
        raise ExpressionError(f"condition is longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"syntax error: {exc.msg}") from None
    compiler = _Compiler(names, source)
    evaluator = compiler.compile(tree)
    return evaluator, tuple(compiler.used)
