"""Console forms that move points or money, done once per form: each carries an Idempotency-Key made when
it is drawn (a hidden input), claimed through the API's own idempotency service under the operator's
principal, as `idempotent(required=True)` claims the API's header. A double submit of one form gets the
first submit's answer; a form shown again after a refusal gets a fresh key."""
import json
import uuid

from flask import g, request

from blueprints.console.forms import Form
from models import db
from services.platform import idempotency
from services.platform.errors import InvalidRequest, ServiceError

KEY_FIELD = "idempotency_key"


def keyed(form: Form) -> Form:
    """The form with a fresh key in a hidden input (_form.html draws `form.hidden`)."""
    form.hidden = {KEY_FIELD: uuid.uuid4().hex}
    return form


def once(work):
    """An action for forms.submit: `work(args, request_key)` run once for the posted form's key; a
    resubmission of the same form returns (or refuses with) what the first one did."""
    def action(args):
        key = request.form.get(KEY_FIELD, "")
        if not 1 <= len(key) <= 128:
            raise InvalidRequest("This form moves points or money: reload the page to submit it once.")
        body = json.dumps(args, sort_keys=True, default=str).encode()
        record_id, replay = idempotency.claim(f"operator:{g.operator.id}", key,
                                              idempotency.fingerprint(request.method, request.path, body))
        if replay is not None:
            if replay.status_code >= 400:
                error = (replay.response or {}).get("error") or {}
                raise ServiceError(error.get("message"), code=error.get("code"), status=replay.status_code)
            return replay.response
        with idempotency.keyed(record_id):
            try:
                result = work(args, key)
            except ServiceError as error:
                db.session.rollback()
                idempotency.finish(record_id, error.status, {"error": {"code": error.code, "message": error.message}})
                raise
            except Exception:
                db.session.rollback()
                idempotency.finish(record_id, 500, None)  # nothing stored: the key may be retried
                raise
        idempotency.finish(record_id, 200, None)
        return result
    return action
