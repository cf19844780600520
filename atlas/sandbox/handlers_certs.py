"""X.509 certificates of Atlas-managed database users (createGroupDatabaseUserCert), as Atlas answers them.

The user must exist (404 USERNAME_NOT_FOUND) and be an Atlas-managed X.509 user (`x509Type: MANAGED`, on
`$external`); `monthsUntilExpiration` is an integer of at most 24 (default 3; Atlas also refuses less than 1).
The answer is 201 with the PEM file itself (the certificate, then its private key) as the body, under the
versioned JSON media type and not JSON-quoted, as the spec's `type: string` schema and Atlas do. The sandbox makes
a real self-signed certificate (EC P-256, CN = the username) so tests can read its dates; it keeps only the
certificate's id, subject and dates, never the PEM.
"""

from __future__ import annotations

import itertools
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from access.database_roles import add_months
from atlas.sandbox.context import Ctx, Handler, Reply, TextBody
from atlas.sandbox.errors import DATABASE_USER_NOT_FOUND, bad_request, not_found
from atlas.sandbox.records import DatabaseUser, iso

DEFAULT_MONTHS = 3
MAX_MONTHS = 24
NOT_X509_USER = "NOT_X509_USER"
_serials = itertools.count(1)


def create_user_certificate(ctx: Ctx) -> Reply:
    group_id = ctx.state.project(ctx.params["groupId"]).id
    if not isinstance(ctx.body, dict):
        raise bad_request("createGroupDatabaseUserCert needs a JSON object body (UserCert).")
    months = ctx.field("monthsUntilExpiration", int, required=False)
    months = DEFAULT_MONTHS if months is None else months
    if not 1 <= months <= MAX_MONTHS:
        raise bad_request(f"Invalid attribute monthsUntilExpiration {months}: must be between 1 and {MAX_MONTHS}.")
    user = _user(ctx, group_id)
    pem, serial, not_after = _certificate(user.username, ctx.now, months)
    user.certificates.append({"_id": serial, "groupId": group_id, "subject": f"CN={user.username}",
                              "createdAt": iso(ctx.now), "notAfter": iso(not_after)})
    return 201, TextBody(pem)


def _user(ctx: Ctx, group_id: str) -> DatabaseUser:
    username = ctx.params["username"]
    users = ctx.state.db_users[group_id]
    found = users.get(("$external", username)) or users.get(("admin", username))
    if found is None:
        raise not_found(f"No user with username {username} exists.", DATABASE_USER_NOT_FOUND)
    if found.document.get("x509Type") != "MANAGED":
        raise bad_request(f"The user {username} is not an Atlas-managed X.509 user (x509Type MANAGED): Atlas "
                          "makes certificates for those only.", NOT_X509_USER)
    return found


def _certificate(username: str, now: datetime, months: int) -> tuple[str, int, datetime]:
    """A self-signed certificate for CN=username valid from now for `months` calendar months, and its private
    key, as one PEM file."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, username)])
    serial = next(_serials)
    not_after = add_months(now, months).replace(microsecond=0)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(serial).not_valid_before(now.replace(microsecond=0)).not_valid_after(not_after)
                   .sign(key, hashes.SHA256()))
    pem = certificate.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return pem.decode(), serial, not_after


HANDLERS: dict[str, Handler] = {
    "createGroupDatabaseUserCert": create_user_certificate,
}
