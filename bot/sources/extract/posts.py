"""Live updates read from a page's own markup, for live pages whose JSON-LD lists none.

Some newsrooms declare a page a `LiveBlogPosting` in JSON-LD but render its updates only in
HTML; others have no JSON-LD at all. Such a page is read by its shape: the largest run of sibling
elements of one tag and class, each with an id and a machine-readable time, is its stream of
updates. A page that does not declare itself live must say so in its markup instead: three such
posts or more, and "live" in the class or id of the posts or of their container. Where no such
run exists nothing is guessed, and the page has no entries.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser, LexborNode

from bot.model import Entry
from bot.sources.extract.clean import node_text
from bot.sources.extract.entries import in_order
from bot.sources.extract.selectors import markup_entry, parse_time, time_value
from bot.text import collapse_whitespace

_POST_TAGS = "article, div, li, section"
_ID_ATTRIBUTES = ("id", "data-post-id", "data-id")
_MIN_POSTS = 2  # one element with an id and a time is as likely the article's own header
_MIN_UNDECLARED_POSTS = 3
_LIVE_MARK = re.compile(r"(?<![a-z])live", re.IGNORECASE)  # live-post, liveblog; not delivery
_MARK_LEVELS = 3  # the posts, their container, and the two elements around it
_MAX_CANDIDATES = 20_000  # elements looked into, whatever a hostile page holds
_MAX_POSTS = 5000
_HEADINGS = "h1, h2, h3, h4, h5, h6"
_BODY = "p, ul, ol, blockquote, pre, table"


def _identity(node: LexborNode) -> str | None:
    attributes = node.attributes
    for name in _ID_ATTRIBUTES:
        value = attributes.get(name)
        if value and value.strip():
            return value.strip()
    return None


def _inner_times(tree: LexborHTMLParser) -> dict[int, str]:
    """For every element holding a <time datetime>, the first such datetime inside it.

    One walk up from each <time>, stopping at the first ancestor already seen, so the work is
    linear in the size of the page however deep it nests.
    """
    found: dict[int, str] = {}
    for stamp in tree.css("time[datetime]"):
        value = stamp.attributes.get("datetime")
        ancestor = stamp.parent
        while value and ancestor is not None and ancestor.mem_id not in found:
            found[ancestor.mem_id] = value
            ancestor = ancestor.parent
    return found


def _time(node: LexborNode, inner_times: dict[int, str]) -> str | None:
    """The post's time: an attribute of its own (data-post-time, datetime, …), else the
    `datetime` of the first <time> inside it."""
    return time_value(node, own=True) or inner_times.get(node.mem_id)


def _post_runs(tree: LexborHTMLParser, inner_times: dict[int, str]) -> list[list[LexborNode]]:
    """Elements with an id and a time, grouped by parent, tag and class."""
    runs: dict[tuple[int, str | None, str], list[LexborNode]] = {}
    examined = 0
    for node in tree.css(_POST_TAGS):
        if _identity(node) is None:
            continue
        examined += 1
        if examined > _MAX_CANDIDATES:
            break
        if _time(node, inner_times) is None:
            continue
        parent = node.parent
        key = (
            parent.mem_id if parent is not None else 0,
            node.tag,
            node.attributes.get("class") or "",
        )
        runs.setdefault(key, []).append(node)
    return list(runs.values())


def _body_text(post: LexborNode, title_node: LexborNode | None) -> str:
    """The post's paragraphs, lists and quotes (outermost only), without its title, time or
    byline furniture."""
    blocks = post.css(_BODY)
    chosen = {block.mem_id for block in blocks}
    texts: list[str] = []
    for block in blocks:
        ancestor = block.parent
        nested = False
        while ancestor is not None and ancestor.mem_id != post.mem_id:
            if ancestor.mem_id in chosen or (
                title_node is not None and ancestor.mem_id == title_node.mem_id
            ):
                nested = True
                break
            ancestor = ancestor.parent
        if not nested and (text := node_text(block)):
            texts.append(text)
    return "\n\n".join(texts)


def _entry(
    post: LexborNode, inner_times: dict[int, str], *, page_url: str | None, headline: str | None
) -> Entry:
    title_node = post.css_first(_HEADINGS)
    title = collapse_whitespace(node_text(title_node)) if title_node is not None else None
    return markup_entry(
        post,
        _identity(post),
        title=None if not title or title == headline else title,
        text=_body_text(post, title_node),
        published=parse_time(_time(post, inner_times)),
        page_url=page_url,
    )


def _marked_live(post: LexborNode) -> bool:
    node: LexborNode | None = post
    for _ in range(_MARK_LEVELS + 1):
        if node is None:
            return False
        attributes = node.attributes
        if any(_LIVE_MARK.search(attributes.get(name) or "") for name in ("class", "id")):
            return True
        node = node.parent
    return False


def posts_in_markup(
    tree: LexborHTMLParser, *, page_url: str | None, headline: str | None, declared: bool
) -> tuple[Entry, ...]:
    """The page's updates as its markup shows them (oldest first), or () when it shows none.

    DECLARED: the page's JSON-LD says it is a live blog; without that, the markup must.
    """
    inner_times = _inner_times(tree)
    posts = max(_post_runs(tree, inner_times), key=len, default=[])
    if len(posts) < (_MIN_POSTS if declared else _MIN_UNDECLARED_POSTS):
        return ()
    if not declared and not _marked_live(posts[0]):
        return ()
    return in_order(
        _entry(post, inner_times, page_url=page_url, headline=headline)
        for post in posts[:_MAX_POSTS]
    )
