"""Users. Every user is a buyer; seller membership, treasurership and admin add roles."""

import secrets
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.dbtypes import UTCDateTime, utcnow
from marketplace.extensions import db
from marketplace.geo.models import Subdistrict


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stored lower-cased; unique.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str] = mapped_column(String(20), default="")
    #: "th" or "en".
    language: Mapped[str] = mapped_column(String(2), default="th")
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    #: A deactivated user cannot sign in.
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Part of every session and remember-me cookie; signing out or changing the password
    #: moves it on, which ends every earlier session of the user.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    # Default shipping address.
    ship_name: Mapped[str] = mapped_column(String(120), default="")
    ship_phone: Mapped[str] = mapped_column(String(20), default="")
    ship_address_line: Mapped[str] = mapped_column(String(255), default="")
    ship_subdistrict_code: Mapped[str | None] = mapped_column(
        ForeignKey("subdistricts.code"), nullable=True
    )
    ship_postal_code: Mapped[str] = mapped_column(String(5), default="")

    #: The welfare fund this buyer (a person or a buying organisation) belongs to; levies
    #: "for the buyer's own fund" go there.
    fund_id: Mapped[int | None] = mapped_column(ForeignKey("funds.id"), nullable=True)

    ship_subdistrict: Mapped[Subdistrict | None] = relationship()
    fund: Mapped["Fund | None"] = relationship()  # noqa: F821
    seller_memberships: Mapped[list["SellerMember"]] = relationship(  # noqa: F821
        back_populates="user", cascade="all, delete-orphan"
    )
    fund_treasurerships: Mapped[list["FundTreasurer"]] = relationship(  # noqa: F821
        back_populates="user", cascade="all, delete-orphan"
    )

    def __repr__(self):
        return f"<User {self.id} {self.email}>"

    #: Random per sign-in, so no two sign-ins give the same session or remember-me value.
    sign_in_nonce = None

    def get_id(self):
        """``id:session_version:nonce``, what Flask-Login keeps in the session and the
        remember-me cookie (see ``accounts.services.user_for_session``)."""
        if self.sign_in_nonce is None:
            self.sign_in_nonce = secrets.token_urlsafe(12)
        return f"{self.id}:{self.session_version}:{self.sign_in_nonce}"

    @property
    def is_active(self):
        return self.active

    @property
    def sellers(self):
        return [m.seller for m in self.seller_memberships]

    @property
    def funds(self):
        return [t.fund for t in self.fund_treasurerships]

    def is_member_of(self, seller_id):
        return any(m.seller_id == seller_id for m in self.seller_memberships)

    def is_treasurer_of(self, fund_id):
        return any(t.fund_id == fund_id for t in self.fund_treasurerships)

    @property
    def has_shipping_address(self):
        return bool(self.ship_address_line and self.ship_subdistrict_code)


class PendingRegistration(db.Model):
    """A registration waiting for its owner to open the mailed link; only the link's
    SHA-256 is stored. Following it creates the user and removes the row."""

    __tablename__ = "pending_registrations"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Set when the mail is written (the token itself is only in the mail).
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    name: Mapped[str] = mapped_column(String(120))
    language: Mapped[str] = mapped_column(String(2))
    password_hash: Mapped[str] = mapped_column(String(255))
    #: Where the new user goes once the account exists (a path on this site, such as the
    #: group order whose join link they registered from); empty for the home page.
    next_path: Mapped[str] = mapped_column(String(200), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
