"""The parcel carriers a seller picks from when shipping, and how their names are shown.

A shipment keeps the carrier's name as text (``Shipment.carrier``): one of the names below,
or whatever the seller typed for another carrier (the API takes any name). The names are
the carriers' own brands; Thailand Post's is shown in Thai on Thai pages.
"""

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class Carrier:
    #: The value of the choice on the form.
    key: str
    #: What the shipment keeps (and the buyer, the mail and the API see).
    name: str
    #: How the name reads on a page, in the visitor's language.
    label: object


CARRIERS = (
    Carrier("thailand-post", "Thailand Post", _l("Thailand Post")),
    Carrier("kerry", "Kerry Express", "Kerry Express"),
    Carrier("flash", "Flash Express", "Flash Express"),
    Carrier("jt", "J&T Express", "J&T Express"),
    Carrier("ninja-van", "Ninja Van", "Ninja Van"),
    Carrier("scg", "SCG Express", "SCG Express"),
    Carrier("best", "Best Express", "Best Express"),
    Carrier("dhl", "DHL eCommerce", "DHL eCommerce"),
)
#: The choice for a carrier not in the list: its name is typed in.
OTHER = "other"
_BY_KEY = {carrier.key: carrier for carrier in CARRIERS}
_BY_NAME = {carrier.name.casefold(): carrier for carrier in CARRIERS}


def by_key(key):
    """The listed carrier with this key, else None."""
    return _BY_KEY.get(key)


def carrier_name(name):
    """A shipment's carrier as a page shows it: a listed carrier's label in the visitor's
    language, anything else as it was typed (the ``carrier`` template filter)."""
    found = _BY_NAME.get((name or "").strip().casefold())
    return str(found.label) if found else (name or "")
