"""Line icons drawn inline (24×24, currentColor): no icon font, no outside host.

``icon(name)`` is a template global, one set for every template: each page's header and
bottom bar draw about ten of them, and since the shapes never change, a decorative icon is
the same finished SVG each time (only a label makes a new one)."""

from markupsafe import Markup, escape

#: Each icon's shapes, inside the shared ``<svg>``.
SHAPES = {
    "home": '<path d="M3 11 12 4l9 7"/><path d="M5 10v10h14V10"/><path d="M10 20v-6h4v6"/>',
    "shop": '<path d="M4 7h16l-1 13H5z"/><path d="M9 7a3 3 0 0 1 6 0"/>',
    "group": (
        '<circle cx="9" cy="8" r="3"/><circle cx="17" cy="9" r="2.5"/>'
        '<path d="M3 20c0-3.3 2.7-6 6-6s6 2.7 6 6"/><path d="M15 14.5c3 .2 5.5 2.4 5.5 5.5"/>'
    ),
    "cart": (
        '<circle cx="9" cy="20" r="1.5"/><circle cx="18" cy="20" r="1.5"/>'
        '<path d="M2 3h3l2.6 12.2a1 1 0 0 0 1 .8h9.7a1 1 0 0 0 1-.8L21 7H6"/>'
    ),
    "orders": '<path d="M6 3h12v18l-3-2-3 2-3-2-3 2z"/><path d="M9 8h6M9 12h6"/>',
    "user": '<circle cx="12" cy="8" r="4"/><path d="M4 21c0-4.4 3.6-8 8-8s8 3.6 8 8"/>',
    "menu": '<path d="M4 6h16M4 12h16M4 18h16"/>',
    "search": '<circle cx="11" cy="11" r="7"/><path d="m20 20-3.5-3.5"/>',
    "store": '<path d="M4 9h16l-1-5H5z"/><path d="M5 9v11h14V9"/><path d="M10 20v-5h4v5"/>',
    "fund": '<path d="M12 21s-7-4.4-7-10a4 4 0 0 1 7-2.6A4 4 0 0 1 19 11c0 5.6-7 10-7 10z"/>',
    "shield": '<path d="M12 3 4 6v6c0 4.4 3.4 8.3 8 9 4.6-.7 8-4.6 8-9V6z"/>',
    "camera": '<path d="M4 8h3l2-3h6l2 3h3v11H4z"/><circle cx="12" cy="13" r="3.5"/>',
    "image": (
        '<rect x="3" y="4" width="18" height="16" rx="2"/><circle cx="9" cy="10" r="2"/>'
        '<path d="m21 16-5-5-9 9"/>'
    ),
}
_OPEN = (
    '<svg class="icon" viewBox="0 0 24 24" width="24" height="24" fill="none" '
    'stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" '
)
#: Decorative icons (no label), drawn once: the same Markup on every page.
_DECORATIVE = {
    name: Markup(f'{_OPEN}aria-hidden="true" focusable="false">{shapes}</svg>')  # noqa: S704 (constants)
    for name, shapes in SHAPES.items()
}


def icon(name, label=None):
    """The icon ``name`` as inline SVG; with ``label``, an image named for screen readers.
    An unknown name draws an empty frame."""
    if label is None:
        found = _DECORATIVE.get(name)
        if found is not None:
            return found
    attributes = (
        f'role="img" aria-label="{escape(label)}"'
        if label
        else 'aria-hidden="true" focusable="false"'
    )
    return Markup(f"{_OPEN}{attributes}>{SHAPES.get(name, '')}</svg>")  # noqa: S704 (label escaped)
