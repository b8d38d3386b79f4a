"""Migrations keep a live database's rows: the session's changes, applied to a SQLite database that has
members, payments, refunds and events (its batch migrations rebuild tables other rows refer to)."""
from flask_migrate import upgrade
from sqlalchemy import text

from app import create_app
from models import db

BEFORE = "r3pa1r000001"  # the schema before the money core, the edge and the task centre
NOW = "2026-11-30 10:00:00.000000"
ROWS = [
    "INSERT INTO member (id, openid, nickname, avatar_url, gender, status, token_version, session_key, created_at,"
    " updated_at) VALUES (1, 'o1', '', '', 0, 'active', 0, 'a secret', :now, :now)",
    "INSERT INTO points_account (member_id, balance, frozen, lifetime_earned, lifetime_spent, lifetime_expired)"
    " VALUES (1, 60, 0, 100, 0, 0)",
    "INSERT INTO points_entry (id, member_id, delta, kind, reason, business_key, balance_after, created_at)"
    " VALUES (1, 1, 100, 'earn', 'purchase', 'pay:T1', 100, :now)",
    "INSERT INTO points_entry (id, member_id, delta, kind, reason, business_key, balance_after, reverses_id,"
    " created_at) VALUES (2, 1, -40, 'reverse', 'refund', 'refund:T1R1', 60, 1, :now)",
    "INSERT INTO payment (id, out_trade_no, member_id, kind, description, original_amount_fen, amount_fen,"
    " discount_fen, status, refunded_fen, paid_after_close, points_awarded, growth_awarded, created_at, expires_at,"
    " paid_at, rewarded_at) VALUES (1, 'T1', 1, 'purchase', 'x', 10000, 10000, 0, 'partially_refunded', 4000, 0,"
    " 100, 0, :now, :now, :now, :now)",
    "INSERT INTO refund (id, payment_id, out_refund_no, request_key, amount_fen, reason, status, refund_id,"
    " points_reversed, growth_reversed, coupons_revoked, created_at) VALUES (1, 1, 'T1R1', 'op:1:k', 4000, 'x',"
    " 'succeeded', 'R', 40, 0, 0, :now)",
    "INSERT INTO member_event (member_id, type, business_key, occurred_at) VALUES (1, 'payment', 'pay:T1', :now)",
]


def test_the_migrations_keep_the_rows_of_a_live_sqlite_database(tmp_path):
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'live.sqlite3'}"},
                     instance_path=str(tmp_path))
    with app.app_context():
        upgrade(directory="migrations", revision=BEFORE)
        with db.engine.begin() as conn:
            for row in ROWS:
                conn.execute(text(row), {"now": NOW})
        upgrade(directory="migrations", revision="heads")  # rebuilds member and payment, which rows refer to
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT reward_status FROM payment")).scalar() == "rewarded"
            assert conn.execute(text("SELECT submitted_at IS NOT NULL FROM refund")).scalar() == 1
            assert conn.execute(text("SELECT lifetime_earned FROM points_account")).scalar() == 60  # net of the refund
            assert conn.execute(text("SELECT type FROM member_event")).scalar() == "payment_paid"
            assert conn.execute(text("SELECT count(*) FROM member")).scalar() == 1
            assert conn.execute(text("PRAGMA foreign_key_check")).fetchall() == []
        db.engine.dispose()
