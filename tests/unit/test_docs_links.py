"""The README is a front page and every relative link in it and in docs/ leads somewhere.

Issue 18 splits the README into a front page of about 12 KB and one page per topic under docs/.
Moving text moves headings, so these tests read every Markdown link ``[text](target)`` (and every
reference definition ``[label]: target``) in README.md and docs/**/*.md, outside fenced code
blocks, and check that:

* a relative target names a file or folder that exists, resolved against the linking file's folder;
* an ``#anchor`` on a Markdown target (or alone, for the same file) is the GitHub slug of one of
  that file's headings.

http(s):// and mailto: links are not followed. Anchors into files other than Markdown (such as a
source file's line anchors) are not checked, since only Markdown headings have slugs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
README_MAX_BYTES = 12_288
"""Issue 18: "A README that is a front page. At most about 12 KB"."""

EXTERNAL = ("http://", "https://", "mailto:")
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
# [text](target) or [text](target "title"); the text may hold one level of brackets.
INLINE_LINK = re.compile(
    r"\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)"
)
REFERENCE_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)")


@dataclass(frozen=True)
class Link:
    """One link as written: the file that holds it, its line number, and its target."""

    source: Path
    line: int
    target: str

    def __str__(self) -> str:
        return f"{self.source.relative_to(ROOT)}:{self.line} -> {self.target}"

    @property
    def is_external(self) -> bool:
        return self.target.lower().startswith(EXTERNAL)

    @property
    def path_and_anchor(self) -> tuple[str, str | None]:
        path, hash_sign, anchor = self.target.partition("#")
        return unquote(path), (unquote(anchor) if hash_sign else None)

    def resolved(self) -> Path:
        """The file the link names; the linking file itself for a bare ``#anchor``."""
        path, _ = self.path_and_anchor
        return (self.source.parent / path).resolve() if path else self.source


def markdown_files() -> list[Path]:
    return [README, *sorted(DOCS.rglob("*.md"))]


def lines_outside_fences(text: str) -> list[tuple[int, str]]:
    """(line number, line) for every line that is not inside a fenced code block, fences excluded."""
    kept: list[tuple[int, str]] = []
    fence: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        match = FENCE.match(line)
        if fence is None:
            if match:
                fence = match[1]
            else:
                kept.append((number, line))
        elif match and match[1][0] == fence[0] and len(match[1]) >= len(fence) and not match[2].strip():
            fence = None
    return kept


def links_in(path: Path) -> list[Link]:
    links: list[Link] = []
    for number, line in lines_outside_fences(path.read_text(encoding="utf-8")):
        targets = [m[1] for m in INLINE_LINK.finditer(line)]
        if definition := REFERENCE_DEFINITION.match(line):
            targets.append(definition[1])
        links += [Link(path, number, target.strip("<>")) for target in targets]
    return links


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lowercase, punctuation (backticks too) dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading anchors by its text
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


@cache
def anchors_of(path: Path) -> frozenset[str]:
    """Every heading's slug in a Markdown file; a repeated heading also gets -1, -2, ... as on GitHub."""
    seen: dict[str, int] = {}
    anchors: set[str] = set()
    for _, line in lines_outside_fences(path.read_text(encoding="utf-8")):
        if match := HEADING.match(line):
            slug = github_slug(match[2])
            count = seen.get(slug, 0)
            seen[slug] = count + 1
            anchors.add(slug if count == 0 else f"{slug}-{count}")
    return frozenset(anchors)


def relative_links() -> list[Link]:
    return [link for path in markdown_files() for link in links_in(path) if not link.is_external]


def report(dead: list[Link]) -> str:
    return f"{len(dead)} dead link(s):\n" + "\n".join(f"  {link}" for link in dead)


def test_the_readme_and_docs_have_relative_links_to_check() -> None:
    """Guards the two tests below against passing because the parser found nothing."""
    links = relative_links()
    assert any(link.source == README for link in links), "no relative link found in README.md"
    assert any(link.path_and_anchor[1] for link in links), "no #anchor link found in README.md or docs/"


def test_every_relative_link_in_the_readme_and_docs_resolves() -> None:
    dead = [link for link in relative_links() if not link.resolved().exists()]
    assert not dead, report(dead)


def test_every_anchor_names_a_heading() -> None:
    dead: list[Link] = []
    for link in relative_links():
        target = link.resolved()
        _, anchor = link.path_and_anchor
        if anchor is None or target.suffix != ".md" or not target.is_file():
            continue  # no anchor, not Markdown, or already reported as a missing file
        if anchor not in anchors_of(target):
            dead.append(link)
    assert not dead, report(dead)


def test_the_readme_links_every_docs_page() -> None:
    linked = {link.resolved() for link in links_in(README) if not link.is_external}
    unlinked = [p.relative_to(ROOT) for p in sorted(DOCS.rglob("*.md")) if p.resolve() not in linked]
    assert not unlinked, f"docs pages missing from the README's Documentation list: {unlinked}"


def test_the_readme_is_a_front_page_of_at_most_12_kib() -> None:
    size = README.stat().st_size
    assert size <= README_MAX_BYTES, (
        f"README.md is {size} bytes, over {README_MAX_BYTES}: move detail to a page under docs/"
    )


def test_the_readmes_first_two_commands_are_make_demo_and_make_test() -> None:
    text = README.read_text(encoding="utf-8")
    block = re.search(r"^```bash[ \t]*\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)
    assert block, "README.md has no ```bash block"
    commands = [
        re.sub(r"\s+#.*$", "", line).strip()
        for line in block[1].splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert commands[:2] == ["make demo", "make test"], f"the first ```bash block starts with {commands[:2]}"


@pytest.mark.parametrize(
    ("heading", "slug"),
    [
        ("What the server counts", "what-the-server-counts"),
        ("Cleaning up: `python -m rag_claimcheck.gc`", "cleaning-up-python--m-rag_claimcheckgc"),
        ("The codec server behind the UI's login", "the-codec-server-behind-the-uis-login"),
        ("Expiry: N ≥ 38, [see](x.md)", "expiry-n--38-see"),
    ],
)
def test_anchors_are_github_slugs_of_headings(heading: str, slug: str) -> None:
    assert github_slug(heading) == slug


def test_links_and_headings_inside_fenced_code_are_ignored(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "# Real\n\n[a](a.md)\n\n```bash\n# not a heading\n[b](b.md)\n```\n\n~~~\n[c](c.md)\n~~~\n[d](d.md#real)\n",
        encoding="utf-8",
    )
    assert [(link.line, link.target) for link in links_in(page)] == [(3, "a.md"), (13, "d.md#real")]
    assert anchors_of(page) == {"real"}
