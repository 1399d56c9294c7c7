"""An HTML page: JSON-LD live blog, key-points box, and the source's own selectors."""

from __future__ import annotations

from dataclasses import replace

from selectolax.lexbor import LexborHTMLParser

from bot.errors import ExtractError
from bot.model import Snapshot, SourceKind
from bot.sources.extract.clean import clean_line
from bot.sources.extract.jsonld import find_liveblog, has_updates, loads_lenient, read_liveblog
from bot.sources.extract.keypoints import key_points_in
from bot.sources.extract.nesting import limit_nesting
from bot.sources.extract.posts import posts_in_markup
from bot.sources.extract.selectors import Selectors, selected_entries, selected_key_points


def _page_title(tree: LexborHTMLParser) -> str | None:
    for selector, attribute in (
        ('meta[property="og:title"]', "content"),
        ("title", None),
        ("h1", None),
    ):
        node = tree.css_first(selector)
        if node is None:
            continue
        value = node.attributes.get(attribute) if attribute else node.text(deep=True)
        line = clean_line(value)
        if line:
            return line
    return None


def _canonical(tree: LexborHTMLParser) -> str | None:
    """The first canonical link's address, else the first og:url's (when absolute)."""
    # One walk of the tree finds both kinds; the first of each is the one that counts.
    found = tree.css('link[rel="canonical"], meta[property="og:url"]')
    for tag, attribute in (("link", "href"), ("meta", "content")):
        node = next((node for node in found if node.tag == tag), None)
        value = node.attributes.get(attribute) if node is not None else None
        if value and value.strip().startswith(("http://", "https://")):
            return value.strip()
    return None


def read_html(
    text: str | bytes,
    *,
    url: str | None,
    kind: SourceKind | None,
    selectors: Selectors | None,
) -> Snapshot:
    tree = LexborHTMLParser(limit_nesting(text))
    blog_object = None  # the first LiveBlogPosting that lists updates, else the first at all
    for script in tree.css("script"):
        if "ld+json" not in (script.attributes.get("type") or "").lower():
            continue
        data = loads_lenient(script.text(deep=True))
        found = find_liveblog(data) if data is not None else None
        if found is not None and (blog_object is None or has_updates(found)):
            blog_object = found
            if has_updates(found):
                break
    page_url = _canonical(tree) or url
    blog = read_liveblog(blog_object, fallback_url=page_url) if blog_object is not None else None
    title = blog.title if blog and blog.title else _page_title(tree)
    selectors = selectors or Selectors()
    if selectors.key_points:
        key_points = selected_key_points(tree, selectors.key_points)
    else:
        key_points = key_points_in(tree)
    snapshot_url = blog.url if blog and blog.url else page_url
    if selectors.entry:
        entries = selected_entries(tree, selectors, page_url=snapshot_url, headline=title)
    elif blog is not None and blog.entries:
        entries = blog.entries
    elif blog is not None or kind is not SourceKind.PAGE:  # the updates only in the markup
        entries = posts_in_markup(
            tree, page_url=snapshot_url, headline=title, declared=blog is not None
        )
    else:
        entries = ()
    found_live = blog is not None or bool(entries)
    base = Snapshot(
        kind=SourceKind.LIVEBLOG,
        title=title,
        url=snapshot_url,
        entries=entries,
        key_points=key_points,
        coverage_start=blog.coverage_start if blog else None,
        coverage_end=blog.coverage_end if blog else None,
    )
    wanted = kind or (SourceKind.LIVEBLOG if found_live else SourceKind.PAGE)
    if wanted is SourceKind.LIVEBLOG and found_live:
        return base
    if wanted is SourceKind.PAGE and key_points is not None:
        return replace(
            base, kind=SourceKind.PAGE, entries=(), coverage_start=None, coverage_end=None
        )
    described = f"an HTML page titled {_quote(title)}" if title else "an HTML page without a title"
    if wanted is SourceKind.LIVEBLOG:
        raise ExtractError(f"{described} with no live updates (no schema.org LiveBlogPosting)")
    if kind is SourceKind.PAGE:
        raise ExtractError(f"{described} with no key-points box")
    raise ExtractError(
        f"{described}: no live blog (schema.org LiveBlogPosting), no key-points box, not a feed"
    )


def _quote(title: str) -> str:
    return repr(title if len(title) <= 80 else title[:77] + "...")
