"""Editorial content (W6): an article matching the browsed category, as a linked card."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from markupsafe import Markup

from .._exceptions import ConfigError
from ._common import root, title_id
from ._fields import as_markup, optional_text, required_mapping, text, within
from ._urls import href, optional_src

ARTICLE_IMAGE_SIZE = (320, 180)
"""Width and height of the article image (16:9), reserved before it arrives."""


def _card(article: Mapping[str, Any], tag: str, attributes: str) -> str:
    """The linked card: image, the article title as a `tag` heading, summary."""
    title = text(article, "title")
    image = optional_src(article, "image")
    summary = optional_text(article, "summary")
    body = (
        f'<img class="pz-image" src="{image}" alt="" width="{ARTICLE_IMAGE_SIZE[0]}"'
        f' height="{ARTICLE_IMAGE_SIZE[1]}" loading="lazy">'
        if image
        else ""
    )
    body += f"<{tag}{attributes}>{title}</{tag}>"
    if summary:
        body += f'<p class="pz-summary">{summary}</p>'
    url = article.get("url")
    if url is None or url == "":
        return f'<div class="pz-card">{body}</div>'
    return f'<a class="pz-card" href="{href(article, "url")}" data-pz-click>{body}</a>'


def render_editorial(data: Mapping[str, Any]) -> Markup:
    """An `<aside>` named by its heading: the optional section `title` ("From our journal") as
    `<h2>` over the card, whose article title is then an `<h3>`; without it, the article title
    is the `<h2>`. The image is decorative (the title says it)."""
    labelled_by = title_id(data)
    section = optional_text(data, "title")
    article = required_mapping(data, "article")
    if section:
        top = f'<h2 class="pz-title" id="{labelled_by}">{section}</h2>'
        tag, attributes = "h3", ' class="pz-article-title"'
    else:
        top, tag, attributes = "", "h2", f' class="pz-title" id="{labelled_by}"'
    try:
        card = _card(article, tag, attributes)
    except ConfigError as error:
        raise within(error, "article") from None
    return as_markup(
        f"{root(data, 'editorial')}"
        f'<aside class="pz-article" aria-labelledby="{labelled_by}">{top}{card}</aside></div>'
    )
