"""python-liquid, set up for text the build does not vouch for: posts, notebooks' markdown cells, a blog's includes.

Liquid here sees data only, costs a bounded amount and names where it failed:

- Data only: `site`, `page` and include parameters are plain dicts, lists, strings, numbers and dates (`plain`),
  and every lookup goes through python-liquid's own item access, which reads keys and never attributes.
- Bounded: python-liquid's limits on loops, output, assigned values and include depth, and this module's on the
  steps a text takes, what filters take and give, and time (see the limits below). A limit reached is an error
  for the build to stop on, never a tag to leave out and try again without.
- Placed: an error inside an include names the include file and its line, and is blamed on the
  `{% include %}` tag that brought it in. An include that resolves outside the repository is a BuildError.

Imported when a text first holds Liquid markup: python-liquid takes a tenth of a second to import.
"""

from __future__ import annotations

import bisect
import functools
import re
import time
from collections.abc import Callable, Mapping, Sized
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date
from pathlib import Path, PurePath

from liquid import BoundTemplate, Environment, FileSystemLoader, Node, RenderContext, Undefined
from liquid.builtin.tags.for_tag import ForNode, ForTag
from liquid.builtin.tags.tablerow_tag import TablerowNode, TablerowTag
from liquid.exceptions import (
    FilterError,
    LiquidError,
    LoopIterationLimitError,
    ResourceLimitError,
    TemplateNotFoundError,
)
from liquid.tag import Tag
from liquid.token import TOKEN_EXPRESSION, TOKEN_TAG

from lib.blog.errors import BuildError, read_text
from lib.blog.jekyll import web_url

# What one text's Liquid may cost. A blog uses a sliver of each: a tags page loops over a few hundred posts, an
# include writes a few lines, a long post is 100 KB. Without them a post could keep the build busy, or fill its
# memory, for as long as it liked: python-liquid limits nothing by default but how deep blocks and includes nest.
LOOP_LIMIT = 100_000  # iterations of loops nested together, and items of any one loop (python-liquid's count)
OUTPUT_LIMIT = 4_000_000  # bytes Liquid may write beyond the text's own size: forty long posts
NAMESPACE_LIMIT = 4_000_000  # bytes held by `{% assign %}` and `{% capture %}` values (as sys.getsizeof counts)
DEPTH_LIMIT = 30  # includes and loops within each other: python-liquid's default, stated here
STEP_LIMIT = 1_000_000  # tags, outputs and text rendered, a loop's body counted once per pass
VALUE_LIMIT = 1_000_000  # characters of a string, or items of a list, that one filter takes or gives
FILTER_LIMIT = 10_000_000  # characters and items all filters of one text take and give together
DIGITS_LIMIT = 4_300  # digits of a number: Python's own limit on writing an int as text
MARKUP_LIMIT = 100_000  # characters of one tag or output: python-liquid's lexer takes ~200 bytes of memory for each
TIME_LIMIT = 10.0  # seconds of Liquid for one text, all its tries together: what the counts above do not see
BIGGEST = 10**DIGITS_LIMIT


class LimitError(ResourceLimitError):
    "One of this module's limits, reached."


class Rendering:
    """One text's rendering, all its tries together (see `rendering`): what it has cost so far, the undefined
    values it showed, and whether its author is untrusted (a notebook under `sanitize_outputs`)."""

    def __init__(self, untrusted: bool = False):
        self.steps, self.filtered, self.deadline = 0, 0, time.monotonic() + TIME_LIMIT
        self.shown: list[Undefined] = []  # undefined values written out, by the current try
        self.untrusted = untrusted

    def step(self) -> None:
        self.steps += 1
        if self.steps > STEP_LIMIT:
            raise LimitError(f"more than {STEP_LIMIT:,} steps (tags, outputs and loop passes)", token=None)
        if self.steps % 1024 == 0:
            self.in_time()

    def in_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise LimitError(f"more than {TIME_LIMIT:g} seconds of Liquid", token=None)

    def filter(self, name: str, *values) -> None:
        "Count what a filter takes or gives; each value must be within the limits."
        for value in values:
            if isinstance(value, int) and abs(value) >= BIGGEST:
                raise LimitError(f"{name}: a number of more than {DIGITS_LIMIT:,} digits", token=None)
            if size(value) > VALUE_LIMIT:
                raise LimitError(f"{name}: a value of {size(value):,} characters or items", token=None)
            self.filtered += size(value)
        if self.filtered > FILTER_LIMIT:
            raise LimitError(f"filters took and gave more than {FILTER_LIMIT:,} characters and items", token=None)
        self.in_time()


RENDERING: ContextVar[Rendering] = ContextVar("liquid_rendering")


@contextmanager
def rendering(untrusted: bool = False):
    "One text's allowance and state, for every try at rendering it."
    token = RENDERING.set(Rendering(untrusted))
    try:
        yield RENDERING.get()
    finally:
        RENDERING.reset(token)


def overlong(text: str) -> int:
    """Where a tag or output starts that runs on for more than MARKUP_LIMIT characters before it closes (or the
    text ends), or -1. Found before python-liquid's lexer sees it, and in one pass, however many there are."""
    closers = {opener: [m.start() for m in re.finditer(re.escape(closer), text)] for opener, closer in CLOSERS.items()}
    for m in re.finditer(r"\{\{|\{%", text):
        ends = closers[m[0]]
        found = bisect.bisect_left(ends, m.end())
        if (ends[found] if found < len(ends) else len(text)) - m.start() > MARKUP_LIMIT:
            return m.start()
    return -1


CLOSERS = {"{{": "}}", "{%": "%}"}


def size(value) -> int:
    "Characters of a string, items of a list, map or range; 0 for anything else."
    if isinstance(value, str | list | tuple | dict):
        return len(value)
    if isinstance(value, range):
        return _length(value)
    return 0


def _length(items) -> int:
    try:
        return len(items)
    except OverflowError:  # a range longer than sys.maxsize
        return 2**63


def plain(value):
    """`value` as data Liquid may see: maps, lists, strings, numbers, booleans and dates; anything else as its text,
    so that no Python object, and nothing reachable from one, is ever in a template's reach."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [plain(v) for v in items]
    if value is None or isinstance(value, bool | int | float | date):
        return value
    return str(value)


def describe(error: LiquidError) -> str:
    "An error's kind and message, without python-liquid's excerpt of the source."
    message = str(error.message).splitlines()[0] if error.message else ""
    return message if isinstance(error, IncludeError) else f"{type(error).__name__}: {message}"


# The environment


class Context(RenderContext):
    """python-liquid's render context, counting each step: `Node.render` reads `disabled_tags` before it renders
    any node (a tag, an output, text, a loop's body on each pass), so that read is where every step passes."""

    __slots__ = ("_disabled",)

    @property
    def disabled_tags(self):
        RENDERING.get().step()
        return self._disabled

    @disabled_tags.setter
    def disabled_tags(self, value):
        self._disabled = value


class Template(BoundTemplate):
    context_class = Context  # python-liquid's way to render with a context of one's own


class Shown(Undefined):
    "An undefined value, which shows nothing, as in Jekyll; written out, it is remembered for a warning."

    __slots__ = ()

    def __str__(self) -> str:
        RENDERING.get().shown.append(self)
        return ""


class Env(Environment):
    "python-liquid with its limits set (see the limits above) and `root`, the repository includes must stay in."

    loop_iteration_limit = LOOP_LIMIT
    output_stream_limit = OUTPUT_LIMIT
    local_namespace_limit = NAMESPACE_LIMIT
    context_depth_limit = DEPTH_LIMIT
    template_class = Template

    def __init__(self, root: Path, **kw):
        super().__init__(undefined=Shown, **kw)
        self.root = root.resolve()

    def shown(self, path) -> str:
        "An include's path from the repository's root; one of the builder's own includes by its name."
        path = Path(path)
        return path.relative_to(self.root).as_posix() if path.is_relative_to(self.root) else path.name


class RepoLoader(FileSystemLoader):
    "Templates of one folder; a file that resolves outside `root` (a link, or the folder itself a link) is refused."

    def __init__(self, folder: Path, root: Path):
        super().__init__(folder)
        self.root = root.resolve()

    def resolve_path(self, template_name: str) -> Path:
        # python-liquid skips a file linked out of the folder, as if missing; here it is an error naming it.
        name = PurePath(template_name)
        for path in [] if name.anchor or ".." in name.parts else [base / name for base in self.search_path]:
            if path.exists() and not path.resolve().is_relative_to(self.root):
                raise BuildError(path, f"is a link to {path.resolve()}, outside the repository")
        return super().resolve_path(template_name)

    def _read(self, source_path: Path) -> tuple[str, float]:
        return read_text(source_path), source_path.stat().st_mtime  # not UTF-8: an error naming the file

    def load(self, env, name, **kw):
        try:
            return super().load(env, name, **kw)
        except TemplateNotFoundError:
            raise
        except LiquidError as e:  # the file does not parse: name it, not just the name it was included by
            e.template_name = str(self.resolve_path(name))
            raise


def environment(root: Path, loaders: list[RepoLoader], tags: dict[str, Callable], filters: dict) -> Env:
    "The environment: `tags` are one-line tags (`fn(args, context)` gives their text), `filters` added to Liquid's."
    from liquid import ChoiceLoader

    env = Env(root, loader=ChoiceLoader(loaders))
    del env.tags["render"]  # Jekyll 4's Liquid has no `render`; `include` is Jekyll's (below)
    for tag in (BoundedFor, BoundedTablerow, IncludeTag):
        env.add_tag(tag)
    for name, fn in tags.items():
        env.add_tag(one_line_tag(name, fn))
    env.filters = {name: guarded(name, fn) for name, fn in (env.filters | filters).items()}
    return env


def guarded(name: str, fn: Callable) -> Callable:
    """`fn`, counted against the text's filter limits: what it takes, what `join` or `replace` would make before
    they make it, and what it gives. Any other exception it raises becomes a Liquid error, which names the line."""

    @functools.wraps(fn)  # keeps python-liquid's `with_context` and `with_environment` marks
    def filtered(value, *args, **kwargs):
        spent = RENDERING.get()
        spent.filter(name, value, *args, *(v for k, v in kwargs.items() if k not in ("context", "environment")))
        spent.filtered += grown(name, value, args)
        spent.filter(name)
        try:
            result = fn(value, *args, **kwargs)
        except LiquidError:
            raise
        except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError) as e:
            raise FilterError(f"{name}: {e}", token=None) from e
        spent.filter(name, result)
        return result

    return filtered


def grown(name: str, value, args: tuple) -> int:
    "The length `join` or `replace` would give, counted before they run: they can make far more than they take."
    if name == "join" and isinstance(value, list | tuple):
        separator = len(str(args[0])) if args else 1
        return sum(size(x) or len(str(x)) for x in value) + separator * len(value)
    if name.startswith("replace") and isinstance(value, str) and len(args) > 1:
        return len(value) + value.count(str(args[0])) * len(str(args[1]))
    return 0


# Loops: a loop's items are counted before python-liquid lists them (`reversed`) or skips them (`offset`).


def _within_limit(node, context) -> None:
    items = node.expression.iterable.evaluate(context)
    count = 0 if isinstance(items, str) or not isinstance(items, Sized) else _length(items)
    if count > LOOP_LIMIT:
        raise LoopIterationLimitError(f"a loop over {count:,} items", token=None)


class BoundedForNode(ForNode):
    __slots__ = ()

    def render_to_output(self, context, buffer):
        _within_limit(self, context)
        return super().render_to_output(context, buffer)


class BoundedTablerowNode(TablerowNode):
    __slots__ = ()

    def render_to_output(self, context, buffer):
        _within_limit(self, context)
        return super().render_to_output(context, buffer)


class BoundedFor(ForTag):
    node_class = BoundedForNode


class BoundedTablerow(TablerowTag):
    node_class = BoundedTablerowNode


# Jekyll's tags


class CallNode(Node):
    """A one-line tag. Its output always counts: python-liquid leaves out a block whose nodes are all `blank`
    (Node's default), and an `{% if %}` holding only an include would render nothing."""

    __slots__ = ("fn", "args")

    def __init__(self, token, fn: Callable, args: str):
        super().__init__(token)
        self.fn, self.args, self.blank = fn, args, False

    def render_to_output(self, context, buffer) -> int:
        try:
            return buffer.write(self.fn(self.args, context))
        except (ValueError, TypeError, KeyError) as e:
            raise LiquidError(str(e), token=self.token) from e


class OneLineTag(Tag):
    block = False
    fn: Callable

    def parse(self, stream):
        token = stream.eat(TOKEN_TAG)
        args = stream.current.value if stream.current.kind == TOKEN_EXPRESSION else ""
        return self.node_class(token, type(self).fn, args)

    node_class = CallNode


def one_line_tag(name: str, fn: Callable) -> type[Tag]:
    "A one-line Liquid tag whose raw argument text goes to `fn(args, context)`."
    return type(f"Tag_{name}", (OneLineTag,), {"name": name, "fn": staticmethod(fn)})


class IncludeError(LiquidError):
    "An error inside an included file, blamed on the `{% include %}` tag: its message names the file and line."

    def __init__(self, inner: LiquidError, where: str, token):
        line = inner.context()[0] if inner.context() else None
        at = f"{where}, line {line}" if line else where
        super().__init__(f"in {at}: {describe(inner)}", token=token)
        self.inner = inner


class IncludeNode(CallNode):
    "Jekyll's `{% include name key=value %}`, written straight into the page's output, so its limit holds."

    __slots__ = ()
    PARAM = re.compile(r"""([\w-]+)\s*=\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[\w.\[\]"'-]+)""")

    def render_to_output(self, context, buffer) -> int:
        name, _, rest = self.args.strip().partition(" ")
        name, template = name.strip("'\""), None
        params = {key: include_value(text, context) for key, text in self.PARAM.findall(rest)}
        if RENDERING.get().untrusted:
            addresses_only(params)
        try:
            template = context.env.get_template(name, context=context)
            with context.extend({"include": params}, template=template):
                template.render_with_context(context, buffer, partial=True)
        except LiquidError as e:
            if isinstance(e, ResourceLimitError) or template is None and isinstance(e, TemplateNotFoundError):
                e.token = self.token  # a limit (which stops the build) or a missing include: this tag's doing
                raise
            path = template.path if template else e.template_name if e.template_name != name else None
            raise IncludeError(e, context.env.shown(path) if path else name, self.token) from e
        return 0


class IncludeTag(OneLineTag):
    name = "include"
    node_class = IncludeNode
    fn = None


def addresses_only(params: dict) -> None:
    """An untrusted author's include parameters: one that could be an address (a value without spaces) must be
    http(s) or relative. `javascript:` or `data:` would run, or load, wherever a template puts it."""
    for key, value in params.items():
        if isinstance(value, str) and not re.search(r"\s", value.strip()) and not web_url(value):
            raise LiquidError(
                f"include parameter {key}={value!r} is an address that is not http(s) or relative", token=None
            )


PATH_PART = re.compile(r"""\[(\d+)\]|\[(["'])(.*?)\2\]|([\w-]+)""")
LITERALS = {"true": True, "false": False, "nil": None, "null": None}


def include_value(text: str, context):
    """An include parameter's value, as Jekyll reads it: a quoted string, a number, or a variable, looked up
    the way Liquid looks up any (`page.tags[0]`): keys of data, never attributes of Python objects."""
    if text[:1] in "\"'":
        return text[1:-1]
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if text in LITERALS:
        return LITERALS[text]
    path = [int(index) if index else key or word for index, _, key, word in PATH_PART.findall(text)]
    return context.get(path, token=None, default=None) if path else None
