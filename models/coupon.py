"""Coupons: templates, packs, and the coupons members hold (filled in by the coupons work)."""
