"""What the guide tests share: a store with its guides, signed in."""
import pytest

from tests.conftest import bearer, unique


@pytest.fixture
def store(client, operator):
    """A store of its own and a way to add guides to it (signed in: headers in `guide["headers"]`)."""
    admin = operator()
    store = client.post("/api/v1/admin/stores", headers=admin, json={"name": unique("store")}).get_json()

    def add_guide(**fields):
        phone = f"139{int(unique('p').rsplit('-', 1)[1]) + 10**7:08d}"[-11:]
        res = client.post("/api/v1/admin/guides", headers=admin, json={
            "store_id": store["id"], "name": "小王", "phone": phone, "password": "guide-password", **fields})
        assert res.status_code == 201, res.get_json()
        guide = res.get_json()
        login = client.post("/api/v1/guide/auth/login", json={"phone": phone, "password": "guide-password"})
        assert login.status_code == 200, login.get_json()
        return {**guide, "headers": bearer(login.get_json()["token"]), "phone": phone}

    return {**store, "admin": admin, "add_guide": add_guide}
