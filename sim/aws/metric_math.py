"""CloudWatch metric math, the arithmetic part: + - * / and parentheses over the ids of other
queries (time series) and numbers, per timestamp. A series combined with a series keeps the
timestamps both have; with a number, all of its own (Metric Math syntax, "Arithmetic
operators": operations between two time series are applied per timestamp, a scalar applies to
every value). Division by zero gives no value for that timestamp (CloudWatch drops non-finite
results). Functions (SUM, METRICS, FILL, IF, ...) are not simulated: an expression with one is
refused with InvalidParameterValue, naming the simulator, rather than answered wrongly.
"""
import re

from moto.cloudwatch.exceptions import InvalidParameterValue

TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d*)?|\.\d+)|([A-Za-z][A-Za-z0-9_]*)|(\S))")


def evaluate(expression: str, results: dict) -> tuple[list, list]:
    tokens = _tokens(expression)
    value, rest = _sum(tokens, results)
    if rest:
        raise InvalidParameterValue(f"Unexpected '{rest[0][1]}' in the expression '{expression}'")
    if isinstance(value, float):
        raise InvalidParameterValue(f"The expression '{expression}' must use at least one metric")
    stamps = sorted(value)
    return [value[t] for t in stamps], stamps


def _tokens(expression: str) -> list:
    out, pos = [], 0
    while pos < len(expression.rstrip()):
        m = TOKEN.match(expression, pos)
        if not m:
            break
        number, name, op = m.groups()
        if number:
            out.append(("num", float(number)))
        elif name:
            out.append(("id", name))
        else:
            out.append(("op", op))
        pos = m.end()
    return out


def _series(result: dict) -> dict:
    return dict(zip(result["timestamps"], [float(v) for v in result["values"]]))


def _apply(op: str, a, b):
    def one(x, y):
        try:
            v = {"+": x + y, "-": x - y, "*": x * y}.get(op) if op != "/" else x / y
        except ZeroDivisionError:
            return None
        return v
    if isinstance(a, float) and isinstance(b, float):
        v = one(a, b)
        return v if v is not None else float("nan")
    if isinstance(a, float):
        return {t: v for t, y in b.items() if (v := one(a, y)) is not None}
    if isinstance(b, float):
        return {t: v for t, x in a.items() if (v := one(x, b)) is not None}
    return {t: v for t in a.keys() & b.keys() if (v := one(a[t], b[t])) is not None}


def _sum(tokens, results):
    left, tokens = _product(tokens, results)
    while tokens and tokens[0] in (("op", "+"), ("op", "-")):
        op = tokens[0][1]
        right, tokens = _product(tokens[1:], results)
        left = _apply(op, left, right)
    return left, tokens


def _product(tokens, results):
    left, tokens = _atom(tokens, results)
    while tokens and tokens[0] in (("op", "*"), ("op", "/")):
        op = tokens[0][1]
        right, tokens = _atom(tokens[1:], results)
        left = _apply(op, left, right)
    return left, tokens


def _atom(tokens, results):
    if not tokens:
        raise InvalidParameterValue("The expression ends too early")
    kind, value = tokens[0]
    if kind == "num":
        return value, tokens[1:]
    if kind == "op" and value == "-":
        inner, rest = _atom(tokens[1:], results)
        return _apply("*", -1.0, inner), rest
    if kind == "op" and value == "(":
        inner, rest = _sum(tokens[1:], results)
        if not rest or rest[0] != ("op", ")"):
            raise InvalidParameterValue("Unbalanced parentheses in the expression")
        return inner, rest[1:]
    if kind == "id":
        if len(tokens) > 1 and tokens[1] == ("op", "("):
            raise InvalidParameterValue(f"Metric math function {value}() is not simulated by sim/aws (metric_math.py)")
        if value not in results:
            raise InvalidParameterValue(f"Unknown id '{value}' in the expression")
        return _series(results[value]), tokens[1:]
    raise InvalidParameterValue(f"Unexpected '{value}' in the expression")
