"""The audit trails' filters, read from the query string into ``services.Filters``."""

from flask_babel import lazy_gettext as _l

from marketplace.audit.services import ACTIONS, OBJECT_TYPES, Filters
from marketplace.errors import DomainError
from marketplace.fields import query_days
from marketplace.parsing import parse_id


def parse_filters(args):
    """Filters from a query string (a mapping); a bad value is a DomainError naming it."""
    filters = Filters()
    action = (args.get("action") or "").strip()
    if action:
        if action not in ACTIONS:
            raise DomainError(_l("Choose an action from the list."), field="action")
        filters.action = action
    filters.actor = (args.get("actor") or "").strip()[:254]
    object_type = (args.get("object_type") or "").strip()
    if object_type:
        if object_type not in OBJECT_TYPES:
            raise DomainError(_l("Choose a kind of object from the list."), field="object_type")
        filters.object_type = object_type
    object_id = (args.get("object_id") or "").strip()
    if object_id:
        filters.object_id = parse_id(object_id)
        if filters.object_id is None:
            raise DomainError(_l("An object id is a whole number."), field="object_id")
    filters.start, filters.end = query_days(args, "from", "to")
    for name, day in (("from", filters.start), ("to", filters.end)):
        if day is not None and not 2000 <= day.year <= 2200:
            raise DomainError(_l("Enter dates as YYYY-MM-DD."), field=name)
    if filters.start and filters.end and filters.end < filters.start:
        raise DomainError(_l("The period ends before it starts."), field="to")
    return filters
