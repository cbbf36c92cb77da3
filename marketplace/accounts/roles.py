"""Role checks every feature uses.

Every user is a buyer. A user may be a member of sellers, a treasurer of funds, and an
admin. Admins pass every seller and fund check.
"""

from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from marketplace.extensions import login_manager


def can_manage_seller(user, seller_id):
    return bool(user and user.is_authenticated and (user.is_admin or user.is_member_of(seller_id)))


def can_manage_fund(user, fund_id):
    return bool(user and user.is_authenticated and (user.is_admin or user.is_treasurer_of(fund_id)))


def _guard(allowed):
    """A decorator: sign-in required, then 403 unless ``allowed(user, view_kwargs)``."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not allowed(current_user, kwargs):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


#: Admins only.
admin_required = _guard(lambda user, kwargs: user.is_admin)
#: Members of the seller named by the ``seller_id`` view argument (and admins).
seller_member_required = _guard(lambda user, kwargs: can_manage_seller(user, kwargs["seller_id"]))
#: Treasurers of the fund named by the ``fund_id`` view argument (and admins).
treasurer_required = _guard(lambda user, kwargs: can_manage_fund(user, kwargs["fund_id"]))

__all__ = [
    "admin_required",
    "can_manage_fund",
    "can_manage_seller",
    "login_required",
    "seller_member_required",
    "treasurer_required",
]
