"""Every code block of ``README.md`` and of the pages in ``docs/`` is checked.

Python blocks (````` ```python ````` fences in the README; ``.. code-block::
python`` and the other Python languages in ``docs/**/*.rst``) run: each page's
blocks are executed in order in one fresh namespace, as a reader pasting them
one after the other into a new interpreter would, in a temporary working
directory (nothing is written into the repository) with matplotlib's ``Agg``
backend. A block whose first line starts with ``>>>`` is a doctest: its
expected output is compared (``ELLIPSIS`` and ``NORMALIZE_WHITESPACE`` on).
A failure names the page, the block's line and its first line.

Shell blocks (``bash``, ``sh``, ``shell``, ``console``) are checked, not run:
after joining ``\\`` continuations and dropping comments, every command
(split at ``&&``, ``||``, ``;`` and ``|``, leading ``NAME=value``
assignments removed) must be one this file knows how to check:

- ``skeer ...`` / ``python -m skeer ...``: parsed by the command's own parser
  (:func:`skeer.cli._parser.build_parser`, with ``skeer``'s rule that no
  command means ``train --profile quick``) and its library defaults resolved;
  nothing is trained;
- ``pip install ...``: each ``.[extra,...]`` is an optional dependency of
  ``pyproject.toml`` and each named package a dependency of the project;
- ``python PATH.py [--option ...]``: the script exists and defines each
  ``--option``;
- ``python -m pytest ...``.

An unknown command fails the test: add a check for it here.

Conventions for writers of the docs:

- ``# requires: mod1, mod2`` among the leading comment lines of a Python block
  says that it needs those importable modules (optional extras: matplotlib,
  onnxruntime, accelerate, ...). Where one is missing, that block and the rest
  of the page (which may use its names) are skipped, after the earlier blocks
  ran.
- A block may read a real data file by its bare name as a user would (e.g.
  CMU's ``DSL-StrongPasswordData.csv``); :data:`STAND_INS` writes a small file
  in the same format into the working directory before the page's blocks run.
  Prefer synthetic data (:func:`skeer.datasets.make_keystrokes`) or files the
  block writes itself.
- Training in a block is kept tiny (``max_epochs=2``, small batches), so that
  this whole file runs in well under a minute.
- Literal blocks without a language (a paragraph ending in ``::``) are refused:
  give each code block a language (``text`` for output or diagrams), so that
  none escapes this test.
"""

import contextlib
import doctest
import io
import os
import re
import shlex
import traceback
import warnings
from pathlib import Path
from typing import NamedTuple

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
# generated or template sources, not pages a reader sees as written
_EXCLUDED_DIRS = {"_build", "auto_examples", "generated", "gen_modules", "_templates"}

PYTHON_LANGS = {"python", "python3", "py", "pycon", "ipython"}
SHELL_LANGS = {"bash", "sh", "shell", "console", "shell-session"}

#: Minimum number of (Python, shell) blocks of each page that has blocks, so
#: that a parsing bug cannot make the tests below pass vacuously. Raise the
#: numbers when blocks are added.
KNOWN_BLOCKS = {
    "README.md": (1, 1),
    "docs/index.rst": (1, 0),
    "docs/getting_started.rst": (4, 2),
    "docs/cli.rst": (0, 2),
    "docs/fixed_text.rst": (0, 1),
    "docs/benchmarks.rst": (0, 2),
    "docs/user_guide/eerloss.rst": (1, 0),
    "docs/user_guide/estimator.rst": (4, 0),
    "docs/user_guide/gpu.rst": (2, 0),
    "docs/user_guide/operating_points.rst": (3, 0),
    "docs/user_guide/protocols.rst": (4, 0),
}


def _write_cmu(path):
    from skeer.datasets._testing import write_cmu_csv

    # 400 repetitions per subject, as in the real file (the protocol enrols 200)
    write_cmu_csv(path, n_subjects=10, n_sessions=8, n_reps=50)


def _write_greyc(path):
    from skeer.datasets._testing import write_greyc_csv

    # 20 repetitions per subject and passphrase (10 per condition), as the real file
    write_greyc_csv(path, n_subjects=6, n_reps=20)


#: Real data files the docs read by their bare name -> writer of a small file
#: in the same format (synthetic timings), put in the working directory.
STAND_INS = {
    "DSL-StrongPasswordData.csv": _write_cmu,
    "greyc-nislab-fixed-text.csv.gz": _write_greyc,
}


class Block(NamedTuple):
    page: str  # path relative to the repository root
    kind: str  # "fence", "directive", "literal" (rst '::') or "doctest" (rst '>>>')
    lang: str  # "" for a literal block
    line: int  # 1-based line of the block's first source line
    source: str

    @property
    def first_line(self):
        return next((s for s in self.source.splitlines() if s.strip()), "")

    def where(self):
        return f"{self.page}, line {self.line} ({self.first_line.strip()!r})"


def _pages():
    pages = [ROOT / "README.md"]
    for path in sorted(DOCS.rglob("*.rst")):
        if not _EXCLUDED_DIRS.intersection(path.relative_to(DOCS).parts):
            pages.append(path)
    return [p for p in pages if p.exists()]


def _rel(path):
    return path.relative_to(ROOT).as_posix()


def _dedent(lines):
    indents = [len(s) - len(s.lstrip()) for s in lines if s.strip()]
    cut = min(indents, default=0)
    return "\n".join(s[cut:] for s in lines).strip("\n") + "\n"


_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([\w+-]*)")
_DIRECTIVE = re.compile(r"^(\s*)\.\.\s+(?:code-block|code|sourcecode)::\s*(\S*)\s*$")


def _markdown_blocks(page, text):
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        _, fence, lang = m.groups()
        body, j = [], i + 1
        while j < len(lines) and not lines[j].strip().startswith(fence):
            body.append(lines[j])  # _dedent removes the fence's indentation
            j += 1
        blocks.append(Block(page, "fence", lang.lower(), i + 2, _dedent(body)))
        i = j + 1
    return blocks


def _indent(line):
    return len(line) - len(line.lstrip())


def _rst_body(lines, j, indent, *, options):
    """The body of a directive or literal block whose first line after the
    opening line is ``j``: ``(index of its first line, its lines, index after)``."""
    # directive options (":caption: ...") come right after the directive line
    while options and j < len(lines) and lines[j].strip().startswith(":"):
        if _indent(lines[j]) <= indent:
            break
        j += 1
    while j < len(lines) and not lines[j].strip():
        j += 1
    first = j
    while j < len(lines) and (not lines[j].strip() or _indent(lines[j]) > indent):
        j += 1
    end = j
    while end > first and not lines[end - 1].strip():
        end -= 1
    return first, lines[first:end], j


def _rst_blocks(page, text):
    """Code-block directives, literal blocks (language ``""``) and bare doctest
    blocks (language ``pycon``) of an rst page."""
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        s = lines[i]
        m = _DIRECTIVE.match(s)
        if m:
            first, body, i = _rst_body(lines, i + 1, _indent(s), options=True)
            lang = m.group(2).lower()
            blocks.append(Block(page, "directive", lang, first + 1, _dedent(body)))
            continue
        stripped = s.strip()
        if stripped.startswith(">>>"):
            j = i
            while j < len(lines) and lines[j].strip():
                j += 1
            blocks.append(Block(page, "doctest", "pycon", i + 1, _dedent(lines[i:j])))
            i = j
            continue
        if stripped.endswith("::") and not stripped.startswith(".."):
            # a literal block: '::' after a paragraph, or alone on its line
            first, body, j = _rst_body(lines, i + 1, _indent(s), options=False)
            if body:
                blocks.append(Block(page, "literal", "", first + 1, _dedent(body)))
                i = j
                continue
        i += 1
    return blocks


def collect_blocks(path):
    text = path.read_text(encoding="utf-8")
    page = _rel(path)
    if path.suffix == ".md":
        return _markdown_blocks(page, text)
    return _rst_blocks(page, text)


def _count_openings(path):
    """Code blocks counted crudely (fences / directive lines): the parser must
    find as many."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".md":
        fences = [ln for ln in text.splitlines() if _FENCE.match(ln)]
        return len(fences) // 2
    return len(re.findall(r"^\s*\.\. (?:code-block|code|sourcecode)::", text, re.M))


ALL_PAGES = _pages()
BLOCKS = {_rel(p): collect_blocks(p) for p in ALL_PAGES}


def _of(page, langs):
    return [b for b in BLOCKS[page] if b.lang in langs]


def _page_params(langs):
    pages = [page for page in BLOCKS if _of(page, langs)]
    return pytest.mark.parametrize("page", pages)


# ---------------------------------------------------------------------------
# the parser finds every block


def test_known_pages_have_their_blocks():
    if not (DOCS / "conf.py").exists():
        pytest.skip("docs/ not found (not a source checkout)")
    for page, (n_python, n_shell) in KNOWN_BLOCKS.items():
        assert page in BLOCKS, f"{page} not found among the pages"
        assert len(_of(page, PYTHON_LANGS)) >= n_python, page
        assert len(_of(page, SHELL_LANGS)) >= n_shell, page
        assert n_python + n_shell > 0


@pytest.mark.parametrize("path", ALL_PAGES, ids=_rel)
def test_parser_finds_every_block(path):
    found = BLOCKS[_rel(path)]
    opened = [b for b in found if b.kind in ("fence", "directive")]
    assert len(opened) == _count_openings(path)
    for block in found:
        assert block.source.strip(), f"empty block at {block.where()}"


def test_parser_on_a_sample():
    text = (
        "Intro::\n\n    literal\n\n.. code-block:: python\n   :caption: x\n\n"
        "   a = 1\n\n   b = a\nText\n\n>>> 1 + 1\n2\n\n"
        ".. code-block:: bash\n\n   skeer train \\\n       --epochs 2\n"
    )
    blocks = _rst_blocks("p.rst", text)
    assert [(b.kind, b.lang, b.line, b.source) for b in blocks] == [
        ("literal", "", 3, "literal\n"),
        ("directive", "python", 8, "a = 1\n\nb = a\n"),
        ("doctest", "pycon", 13, ">>> 1 + 1\n2\n"),
        ("directive", "bash", 18, "skeer train \\\n    --epochs 2\n"),
    ]
    md = "x\n\n```python\nimport os\n```\n\n```bash\nskeer\n```\n"
    assert [(b.lang, b.line, b.source) for b in _markdown_blocks("R.md", md)] == [
        ("python", 4, "import os\n"),
        ("bash", 8, "skeer\n"),
    ]


@pytest.mark.parametrize("page", list(BLOCKS))
def test_every_code_block_has_a_language(page):
    untyped = [b.where() for b in BLOCKS[page] if not b.lang]
    assert not untyped, (
        "literal blocks without a language escape this test; use "
        f"'.. code-block:: python' (or bash, or text): {untyped}"
    )


# ---------------------------------------------------------------------------
# Python blocks run


def _requirements(source):
    needs = []
    for line in source.splitlines():
        s = line.strip()
        if not s:
            continue
        if not s.startswith("#"):
            break
        m = re.match(r"#\s*requires:\s*(.+)", s)
        if m:
            needs += [name.strip() for name in m.group(1).split(",") if name.strip()]
    return needs


def _missing(modules):
    import importlib.util

    return [m for m in modules if importlib.util.find_spec(m) is None]


def _run_doctest(block, namespace):
    parser = doctest.DocTestParser()
    test = parser.get_doctest(
        block.source, namespace, block.where(), block.page, block.line - 1
    )
    out = io.StringIO()
    runner = doctest.DocTestRunner(
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False
    )
    runner.run(test, out=out.write, clear_globs=False)
    namespace.update(test.globs)  # the doctest ran in a copy
    if runner.failures:
        pytest.fail(f"doctest failed at {block.where()}:\n{out.getvalue()}")


def _run_code(block, namespace):
    # compiled under the page's own path and line numbers, so that a traceback
    # points at (and quotes) the page
    filename = str(ROOT / block.page)
    try:
        code = compile("\n" * (block.line - 1) + block.source, filename, "exec")
        exec(code, namespace)
    except Exception:
        pytest.fail(
            f"the block at {block.where()} raised:\n{traceback.format_exc()}",
            pytrace=False,
        )


@pytest.fixture
def doc_sandbox(tmp_path, monkeypatch):
    """A temporary working directory, data home and matplotlib backend."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("SKEER_DATA", str(tmp_path / "skeer_data"))
    try:
        import matplotlib
    except ImportError:
        matplotlib = None
    if matplotlib is not None:
        matplotlib.use("Agg")
    yield tmp_path
    if matplotlib is not None:
        import matplotlib.pyplot as plt

        plt.close("all")


@_page_params(PYTHON_LANGS)
def test_python_blocks_run(page, doc_sandbox):
    blocks = _of(page, PYTHON_LANGS)
    assert blocks
    text = (ROOT / page).read_text(encoding="utf-8")
    for name, write in STAND_INS.items():
        if name in text:
            write(doc_sandbox / name)
    namespace = {"__name__": "__main__"}
    for k, block in enumerate(blocks):
        missing = _missing(_requirements(block.source))
        if missing:
            pytest.skip(
                f"{page}: blocks {k + 1}-{len(blocks)} of {len(blocks)} not run "
                f"({', '.join(missing)} not installed; from {block.where()})"
            )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if block.source.lstrip().startswith(">>>"):
                _run_doctest(block, namespace)
            else:
                _run_code(block, namespace)


# ---------------------------------------------------------------------------
# shell blocks are valid


def _shell_commands(source):
    """Commands of a shell block: continuations joined, comments and prompts
    dropped, split at the shell's separators, env assignments removed."""
    joined = re.sub(r"\\\n", " ", source)
    commands = []
    for line in joined.splitlines():
        line = line.strip()
        if line.startswith("$ "):
            line = line[2:]
        tokens = shlex.split(line, comments=True)
        current = []
        for tok in [*tokens, "&&"]:
            if tok in {"&&", "||", ";", "|"}:
                while current and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", current[0]):
                    current.pop(0)
                if current:
                    commands.append((line, current))
                current = []
            else:
                current.append(tok)
    return commands


def _pyproject():
    try:
        import tomllib
    except ImportError:  # Python 3.10
        tomllib = pytest.importorskip("tomli")
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]


def _requirement_name(spec):
    return re.split(r"[<>=!~\[;\s]", spec, maxsplit=1)[0].lower().replace("_", "-")


def _check_skeer(argv):
    from skeer.cli import _MAIN_OPTIONS
    from skeer.cli._parser import build_parser, resolve_defaults

    if not argv or (argv[0].startswith("-") and argv[0] not in _MAIN_OPTIONS):
        argv = ["train", "--profile", "quick", *argv]  # as skeer.cli.main does
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(stderr):
            args = build_parser().parse_args(argv)
    except SystemExit as exc:
        return f"exit {exc.code}: {stderr.getvalue().strip()}"
    if args.command is None:
        return "no command"
    resolve_defaults(args)
    return None


def _check_pip(args):
    project = _pyproject()
    extras = project.get("optional-dependencies", {})
    known = {_requirement_name(d) for d in project["dependencies"]}
    known |= {_requirement_name(d) for deps in extras.values() for d in deps}
    if args[:1] != ["install"]:
        return f"only 'pip install' is checked, got 'pip {' '.join(args)}'"
    for arg in args[1:]:
        if arg.startswith("-"):
            continue
        m = re.fullmatch(r"\.(?:\[([\w,\s-]*)\])?", arg)
        if m:
            for extra in (m.group(1) or "").split(","):
                if extra.strip() and extra.strip() not in extras:
                    return f"no extra {extra!r} in pyproject.toml"
        elif _requirement_name(arg) not in known:
            return f"{arg!r} is not a dependency of the project"
    return None


def _check_python(args):
    if args[:2] == ["-m", "skeer"]:
        return _check_skeer(args[2:])
    if args[:2] == ["-m", "pytest"]:
        return None
    if args and args[0].endswith(".py"):
        script = ROOT / args[0]
        if not script.is_file():
            return f"no script {args[0]}"
        text = script.read_text(encoding="utf-8")
        for opt in args[1:]:
            name = opt.split("=", 1)[0]
            if name in ("-h", "--help") and "argparse" in text:
                continue
            quoted = (f'"{name}"', f"'{name}'")
            if name.startswith("--") and not any(q in text for q in quoted):
                return f"{args[0]} defines no option {name}"
        return None
    return f"unchecked python command: python {' '.join(args)}"


_CHECKS = {"skeer": _check_skeer, "pip": _check_pip, "python": _check_python}


@_page_params(SHELL_LANGS)
def test_shell_blocks_are_valid(page):
    blocks = _of(page, SHELL_LANGS)
    assert blocks
    problems, n_commands = [], 0
    for block in blocks:
        for line, (program, *args) in _shell_commands(block.source):
            n_commands += 1
            check = _CHECKS.get(os.path.basename(program))
            if check is None:
                problem = f"unknown command {program!r}: add a check to this test"
            else:
                problem = check(args)
            if problem:
                problems.append(f"{block.where()}: {line!r}: {problem}")
    assert n_commands, f"{page}: no command found in its shell blocks"
    assert not problems, "\n".join(problems)
