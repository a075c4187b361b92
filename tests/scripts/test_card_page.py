"""The card as the Hub page shows it: README.md rendered as GitHub-flavoured Markdown, its YAML removed.

What a reader of the Hub page meets: the parts in the order they need them, no marker shown
as text, the code first on the first screen, and every link, image and repository path that
opens from the page, checked against exactly what the push uploads.
"""

from __future__ import annotations

import pathlib
import posixpath
import re
import urllib.parse

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from scripts import card, layout, push_to_hub

CARD_PATH = layout.PROJECT_ROOT / layout.CARD
# The parts a reader looks for, in the order they need them (other headings may stand between).
READER_ORDER = [
    "Fashion-MNIST",
    "Quick start",
    "Labels",
    "Splits",
    "Data fields",
    "Usage",
    "Training",
    "Source data",
    "How this copy differs from zalando-datasets/fashion_mnist",
    "Citation",
    "License",
    "Maintaining",
]
MAX_CARD_BYTES = 25_000
FIRST_CODE_WITHIN = 60  # lines after the YAML header: the first screen or so
VERDICT_WORDS = re.compile(r"\b(target|met|missed)\b", re.I)
ABSOLUTE = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)


def page_tokens(text: str) -> list[Token]:
    """The Hub's rendering, closely: CommonMark with GFM tables, raw HTML passed through (so comments stay hidden)."""
    body = card.FRONT_MATTER.sub("", text, count=1)
    return MarkdownIt("commonmark", {"html": True}).enable("table").parse(body)


def walk(tokens: list[Token]) -> list[tuple[Token, str | None]]:
    """Every token, inline children included, each with the href of the link it stands in (None outside links)."""
    out: list[tuple[Token, str | None]] = []
    for token in tokens:
        out.append((token, None))
        href = None
        for child in token.children or []:
            if child.type == "link_open":
                href = str(child.attrs.get("href"))
            out.append((child, href))
            if child.type == "link_close":
                href = None
    return out


def heading_texts(tokens: list[Token]) -> list[str]:
    return [tokens[i + 1].content.replace("`", "") for i, t in enumerate(tokens) if t.type == "heading_open"]


def slug(heading: str) -> str:
    """The anchor GitHub and the Hub give a heading."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


@pytest.fixture(scope="module")
def page() -> list[Token]:
    return page_tokens(CARD_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def uploaded(real_repo: pathlib.Path) -> set[str]:
    """Every path the Hub repo holds after a push, and every folder on the way to one."""
    files = set(push_to_hub.upload_set(real_repo))
    return files | {posixpath.dirname(path) for path in files} - {""}


def test_the_card_is_short_and_leads_with_code() -> None:
    text = CARD_PATH.read_text(encoding="utf-8")
    assert len(text.encode()) <= MAX_CARD_BYTES, "move detail to MAINTAINING.md or the benchmark report"
    after_yaml = card.FRONT_MATTER.sub("", text, count=1).splitlines()
    first_code = next(n for n, line in enumerate(after_yaml) if line.startswith("```python"))
    assert first_code < FIRST_CODE_WITHIN


def test_the_maintaining_part_shows_the_two_set_up_commands(page: list[Token]) -> None:
    """The card is where a maintainer reads them (CI runs the second), so they stay there, exactly."""
    blocks = [token.content for token in page if token.type == "fence" and token.info == "bash"]
    assert "make build DATA_DIR=path/to/archives\nmake test\n" in blocks, f"bash blocks: {blocks}"
    assert "Maintaining" in heading_texts(page)


def test_the_parts_come_in_the_order_a_reader_needs_them(page: list[Token]) -> None:
    headings = heading_texts(page)
    missing = [name for name in READER_ORDER if name not in headings]
    assert not missing, f"missing parts: {missing}"
    positions = [headings.index(name) for name in READER_ORDER]
    assert positions == sorted(positions), f"out of order: {headings}"


def test_no_marker_or_comment_shows_as_text(page: list[Token]) -> None:
    shown = [t.content for t, _ in walk(page) if t.type in ("text", "code_inline", "code_block", "fence")]
    leaks = [text for text in shown if "<!--" in text or "GENERATED" in text]
    assert not leaks, f"markers rendered as text (a marker must stand alone on its line): {leaks}"


def test_every_python_block_is_a_recipe_file(page: list[Token]) -> None:
    recipes = {path.read_text(encoding="utf-8") for path in card.recipe_files()}
    blocks = [t.content for t in page if t.type == "fence" and t.info == "python"]
    assert blocks and all(block.replace("org/fashion_mnist", layout.REPO_ID) in recipes for block in blocks)


def test_the_performance_part_holds_no_verdicts(page: list[Token]) -> None:
    headings = [i for i, t in enumerate(page) if t.type == "heading_open"]
    start = next(i for i in headings if page[i + 1].content == "Performance")
    end = next((i for i in headings if i > start and page[i].tag <= page[start].tag), len(page))
    text = " ".join(t.content for t in page[start:end] if t.type == "inline")
    assert not VERDICT_WORDS.findall(text), "targets and verdicts belong to the benchmark report"


def test_every_link_and_image_opens_from_the_hub_page(page: list[Token], uploaded: set[str]) -> None:
    anchors = {slug(heading) for heading in heading_texts(page)}
    broken = []
    for token, _ in walk(page):
        target = token.attrs.get("href") if token.type == "link_open" else token.attrs.get("src")
        if token.type not in ("link_open", "image") or ABSOLUTE.match(str(target)):
            continue
        path, _, fragment = urllib.parse.unquote(str(target)).partition("#")
        if (path and posixpath.normpath(path) not in uploaded) or (not path and fragment not in anchors):
            broken.append(target)
    assert not broken, f"links the Hub page cannot open: {broken}"


def test_every_repository_path_shown_is_a_link_to_it(page: list[Token], uploaded: set[str]) -> None:
    """A path in backticks that names a file or folder of the Hub repo is a link to it (a folder: to a file in it)."""
    top_level = {path.split("/")[0] for path in uploaded} | {
        path.split("/")[1] for path in uploaded if path.startswith(f"{layout.SOURCE_DIR}/")
    }
    unlinked = []
    for token, href in walk(page):
        name = token.content.rstrip("/")
        if token.type != "code_inline" or " " in name or name.split("/")[0] not in top_level:
            continue
        target = posixpath.normpath(urllib.parse.unquote(href or ""))
        if target not in uploaded or not (target == name or target.startswith(f"{name}/")):
            unlinked.append(token.content)
    assert not unlinked, f"repository paths shown without a link that opens them: {unlinked}"
