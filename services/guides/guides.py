"""Guides: operator CRUD and transfers (audited), login and tokens, and the guide card members see."""
from sqlalchemy import bindparam, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from models import Guide, GuideBinding, GuideBindingChange, Store, db
from services.guides import contact_ways
from services.payments import stores
from services.platform import audit_trail, clock, ratelimit, round_trips, tokens
from services.platform.db import duplicates_conflict, get_row, lock_row, transaction
from services.platform.errors import InvalidRequest, TokenRevoked
from services.platform.pagination import page

EDITABLE = ("name", "phone", "wecom_userid", "status", "qr_image_url")


def create_guide(operator, fields: dict) -> Guide:
    """A guide of an active store (audited); with a WeCom userid, its 联系我 code is made by a job."""
    _require_store(fields["store_id"])
    with duplicates_conflict("A guide with that phone exists.", "guide_exists"), transaction():
        guide = Guide(store_id=fields["store_id"], name=fields["name"], phone=fields["phone"],
                      password_hash=generate_password_hash(fields["password"]), wecom_userid=fields.get("wecom_userid"),
                      qr_image_url=fields.get("qr_image_url"), status="active", token_version=0, wecom_attempts=0,
                      created_at=clock.now())
        db.session.add(guide)
        db.session.flush()
        audit_trail.record(operator.id, "guide.create", target_type="guide", target_id=guide.id, reason=None,
                           details={"store_id": guide.store_id})
        _contact_way_due(guide)
    return guide


def update_guide(operator, guide_id: int, fields: dict) -> Guide:
    """Change a guide (audited). Disabling one stops their tokens at once; a new password or phone, too."""
    with duplicates_conflict("A guide with that phone exists.", "guide_exists"), transaction():
        guide = _lock(guide_id)
        for name in EDITABLE:
            if name in fields:
                setattr(guide, name, fields[name])
        if "password" in fields:
            guide.password_hash = generate_password_hash(fields["password"])
        if {"password", "phone", "status"} & set(fields):
            guide.token_version += 1
        if "wecom_userid" in fields:
            guide.wecom_config_id = guide.wecom_qr_url = guide.wecom_error = None
            guide.wecom_attempts, guide.wecom_retry_at = 0, None
            _contact_way_due(guide)
        if "status" in fields:
            _contact_way_follows_status(guide)
        audit_trail.record(operator.id, "guide.update", target_type="guide", target_id=guide.id, reason=None,
                           details={name: value for name, value in fields.items() if name != "password"})
    return guide


def _contact_way_due(guide: Guide) -> None:
    if guide.wecom_userid:
        contact_ways.queue_after_commit(contact_ways.MAKE, guide.id)


def _contact_way_follows_status(guide: Guide) -> None:
    """A disabled guide's 联系我 code is removed at WeCom (it would bring them customers); an enabled
    guide without one gets a new one. Both by a job after the commit, retried while WeCom is away."""
    guide.wecom_attempts, guide.wecom_retry_at, guide.wecom_error = 0, None, None
    if guide.status != "active":
        contact_ways.queue_after_commit(contact_ways.REMOVE, guide.id)
    elif guide.wecom_config_id is None:
        _contact_way_due(guide)


def transfer_members(operator, guide_id: int, *, to_guide_id: int, reason: str) -> int:
    """Move every member of a guide (who leaves) to another guide of the same store (audited); how many."""
    with transaction():
        source, target = _lock(guide_id), _lock(to_guide_id)
        if source.store_id != target.store_id or target.status != "active" or source.id == target.id:
            raise InvalidRequest("Members go to another active guide of the same store.", status=422,
                                 details={"to_guide_id": ["Not an active guide of this store."]})
        members = list(db.session.scalars(select(GuideBinding.member_id).where(GuideBinding.guide_id == source.id)))
        now = clock.now()
        db.session.execute(update(GuideBinding).where(GuideBinding.guide_id == source.id).values(
            guide_id=target.id, how="transfer", bound_at=now).execution_options(synchronize_session=False))
        db.session.add_all(GuideBindingChange(member_id=member_id, from_guide_id=source.id, to_guide_id=target.id,
                                              how="transfer", created_at=now) for member_id in members)
        audit_trail.record(operator.id, "guide.transfer_members", target_type="guide", target_id=source.id,
                           reason=reason, details={"to_guide_id": target.id, "members": len(members)})
    return len(members)


def _require_store(store_id: int) -> Store:
    store = stores.find_store(store_id)
    if store is None or not store.active:
        raise InvalidRequest("No such active store.", status=422, details={"store_id": ["No such active store."]})
    return store


def get_guide(guide_id: int) -> Guide:
    return get_row(Guide, guide_id, missing="No such guide.")


def find_guides(*, store_id: int | None, limit: int, cursor: str | None) -> dict:
    stmt = select(Guide)
    if store_id:
        stmt = stmt.where(Guide.store_id == store_id)
    return page(db.session, stmt, id_column=Guide.id, limit=limit, cursor=cursor)


def _lock(guide_id: int) -> Guide:
    return lock_row(Guide, guide_id, missing="No such guide.")


# -- login ---------------------------------------------------------------------------------------

def login(*, phone: str, password: str, client_address: str) -> tuple[Guide, str]:
    """A guide token for an active guide's phone and password; failures are throttled (429)."""
    def verify():
        guide = db.session.scalar(select(Guide).where(Guide.phone == phone))
        if guide is not None and guide.status == "active" and check_password_hash(guide.password_hash, password):
            return guide
        return None

    guide = ratelimit.password_login("guide", phone, client_address, verify)
    return guide, tokens.issue("guide", guide.id, guide.token_version)


def authenticate(claims: tokens.Claims) -> Guide:
    """The guide a verified token speaks for: active, and the token not revoked."""
    guide = db.session.get(Guide, claims.id)
    if guide is None or guide.status != "active" or guide.token_version != claims.version:
        raise TokenRevoked()
    return guide


def logout(guide: Guide) -> None:
    with transaction():
        _lock(guide.id).token_version += 1


# -- what members see ----------------------------------------------------------------------------

def guide_card(member_id: int) -> dict | None:
    """The member's exclusive guide as the pay result and /me/guide show it: who, which store, and the
    QR to add them (the WeCom 联系我 code, else the guide's own QR image)."""
    return round_trips.read(guide_card_read(member_id))[0]


def guide_card_read(member_id: int) -> round_trips.Read:
    """guide_card() as a read, to go in one round trip with other areas' (GET /me)."""
    return round_trips.Read(((_CARD, {"member": member_id}),), _card)


_CARD = (select(Guide.id, Guide.name, Store.name.label("store"), Guide.status, Guide.wecom_qr_url, Guide.qr_image_url)
         .join(GuideBinding, GuideBinding.guide_id == Guide.id).join(Store, Store.id == Guide.store_id)
         .where(GuideBinding.member_id == bindparam("member")))


def _card(rows: list) -> dict | None:
    if not rows:
        return None
    guide = rows[0]
    return {"id": guide.id, "name": guide.name, "store": guide.store, "qr_url": qr_url(guide)}


def qr_url(guide: Guide) -> str | None:
    """The QR that adds the guide; none for a disabled guide (their WeCom code is being removed)."""
    if guide.status != "active":
        return None
    return guide.wecom_qr_url or guide.qr_image_url
