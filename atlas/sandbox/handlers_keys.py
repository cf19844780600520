"""The bot's own credentials: org API keys (+ access lists, project roles) and service accounts (+ secrets)."""

from __future__ import annotations

from atlas.sandbox import keys, members, views
from atlas.sandbox.auth import forget_tokens
from atlas.sandbox.context import Ctx, Handler, Reply
from atlas.sandbox.errors import API_KEY_NOT_FOUND, SERVICE_ACCOUNT_NOT_FOUND, bad_request, not_found
from atlas.sandbox.records import AccessEntry, ApiKeyRecord, ServiceAccountRecord


def _key(ctx: Ctx) -> ApiKeyRecord:
    key = ctx.state.api_keys.get(ctx.params["apiUserId"])
    org_id = ctx.params.get("orgId") or ctx.state.project(ctx.params["groupId"]).org_id
    if key is None or key.org_id != org_id:
        raise not_found(f"No API key with ID {ctx.params['apiUserId']} exists.", API_KEY_NOT_FOUND)
    return key


def _account(ctx: Ctx) -> ServiceAccountRecord:
    account = ctx.state.service_accounts.get(ctx.params["clientId"])
    if account is None or account.org_id != ctx.params["orgId"]:
        raise not_found(f"No service account with client ID {ctx.params['clientId']} exists.",
                        SERVICE_ACCOUNT_NOT_FOUND)
    return account


def _entries(ctx: Ctx) -> list[AccessEntry]:
    if not isinstance(ctx.body, list) or not ctx.body:
        raise bad_request("The access list takes a non-empty array of {ipAddress} or {cidrBlock}.")
    return [keys.access_entry(item, now=ctx.now) for item in ctx.body]


def _entry(access_list: dict[str, AccessEntry], address: str) -> AccessEntry:
    if address not in access_list:
        raise not_found(f"No access list entry {address} exists.")
    return access_list[address]


# --- API keys --------------------------------------------------------------------------------------------------


def list_org_api_keys(ctx: Ctx) -> Reply:
    found = [k for k in ctx.state.api_keys.values() if k.org_id == ctx.params["orgId"]]
    return ctx.page(found, views.api_key)


def create_org_api_key(ctx: Ctx) -> Reply:
    key = keys.new_api_key(ctx.state, org_id=ctx.params["orgId"], roles=ctx.field("roles", list),
                           desc=ctx.field("desc"))
    return 200, views.api_key(key, reveal=True)


def get_org_api_key(ctx: Ctx) -> Reply:
    return 200, views.api_key(_key(ctx))


def update_org_api_key(ctx: Ctx) -> Reply:
    key = _key(ctx)
    desc, roles = ctx.field("desc", required=False), ctx.field("roles", list, required=False)
    if desc is not None:
        key.desc = desc
    if roles is not None:
        key.org_roles = sorted(members.org_roles(roles))
    return 200, views.api_key(key)


def delete_org_api_key(ctx: Ctx) -> Reply:
    keys.delete_api_key(ctx.state, _key(ctx))
    return 204, None


def list_api_key_access_list(ctx: Ctx) -> Reply:
    return ctx.page(list(_key(ctx).access_list.values()), views.access_entry)


def create_api_key_access_list(ctx: Ctx) -> Reply:
    key = _key(ctx)
    for entry in _entries(ctx):
        key.access_list.setdefault(entry.key, entry)
    return ctx.page(list(key.access_list.values()), views.access_entry)


def get_api_key_access_list_entry(ctx: Ctx) -> Reply:
    return 200, views.access_entry(_entry(_key(ctx).access_list, ctx.params["ipAddress"]))


def delete_api_key_access_list_entry(ctx: Ctx) -> Reply:
    key = _key(ctx)
    del key.access_list[_entry(key.access_list, ctx.params["ipAddress"]).key]
    return 204, None


def add_group_api_key(ctx: Ctx) -> Reply:
    key = _key(ctx)
    if not isinstance(ctx.body, list) or not ctx.body:
        raise bad_request("addGroupApiKey takes a non-empty array of {roles: [...]}.")
    roles = {r for item in ctx.body if isinstance(item, dict) for r in item.get("roles") or []}
    key.group_roles[ctx.params["groupId"]] = sorted(members.group_roles(roles))
    return 204, None


def update_group_api_key_roles(ctx: Ctx) -> Reply:
    key = _key(ctx)
    key.group_roles[ctx.params["groupId"]] = sorted(members.group_roles(ctx.field("roles", list)))
    return 200, views.api_key(key)


def remove_group_api_key(ctx: Ctx) -> Reply:
    key = _key(ctx)
    if key.group_roles.pop(ctx.params["groupId"], None) is None:
        raise not_found(f"API key {key.id} is not in group {ctx.params['groupId']}.", API_KEY_NOT_FOUND)
    return 204, None


# --- service accounts ------------------------------------------------------------------------------------------


def list_service_accounts(ctx: Ctx) -> Reply:
    found = [a for a in ctx.state.service_accounts.values() if a.org_id == ctx.params["orgId"]]
    return ctx.page(found, views.service_account)


def create_service_account(ctx: Ctx) -> Reply:
    account, secret = keys.new_service_account(
        ctx.state, org_id=ctx.params["orgId"], name=ctx.field("name"), description=ctx.field("description"),
        roles=ctx.field("roles", list), secret_hours=ctx.field("secretExpiresAfterHours", int), now=ctx.now)
    return 201, views.service_account(account, reveal=secret.id)


def get_service_account(ctx: Ctx) -> Reply:
    return 200, views.service_account(_account(ctx))


def update_service_account(ctx: Ctx) -> Reply:
    account = _account(ctx)
    name, description = ctx.field("name", required=False), ctx.field("description", required=False)
    roles = ctx.field("roles", list, required=False)
    account.name = name if name is not None else account.name
    account.description = description if description is not None else account.description
    if roles is not None:
        account.roles = sorted(members.org_roles(roles))
    return 200, views.service_account(account)


def delete_service_account(ctx: Ctx) -> Reply:
    account = _account(ctx)
    forget_tokens(ctx.state, client_id=account.client_id)
    del ctx.state.service_accounts[account.client_id]
    return 204, None


def create_secret(ctx: Ctx) -> Reply:
    secret = keys.new_secret(ctx.state, _account(ctx), hours=ctx.field("secretExpiresAfterHours", int), now=ctx.now)
    return 201, views.secret(secret, reveal=True)


def delete_secret(ctx: Ctx) -> Reply:
    account = _account(ctx)
    if account.secrets.pop(ctx.params["secretId"], None) is None:
        raise not_found(f"No secret with ID {ctx.params['secretId']} exists.")
    forget_tokens(ctx.state, client_id=account.client_id, secret_id=ctx.params["secretId"])
    return 204, None


def list_sa_access_list(ctx: Ctx) -> Reply:
    return ctx.page(list(_account(ctx).access_list.values()), views.sa_access_entry)


def create_sa_access_list(ctx: Ctx) -> Reply:
    account = _account(ctx)
    for entry in _entries(ctx):
        account.access_list.setdefault(entry.key, entry)
    return ctx.page(list(account.access_list.values()), views.sa_access_entry)


def delete_sa_access_list_entry(ctx: Ctx) -> Reply:
    account = _account(ctx)
    del account.access_list[_entry(account.access_list, ctx.params["ipAddress"]).key]
    return 204, None


HANDLERS: dict[str, Handler] = {
    "listOrgApiKeys": list_org_api_keys,
    "createOrgApiKey": create_org_api_key,
    "getOrgApiKey": get_org_api_key,
    "updateOrgApiKey": update_org_api_key,
    "deleteOrgApiKey": delete_org_api_key,
    "listOrgApiKeyAccessListEntries": list_api_key_access_list,
    "createOrgApiKeyAccessListEntry": create_api_key_access_list,
    "getOrgApiKeyAccessListEntry": get_api_key_access_list_entry,
    "deleteOrgApiKeyAccessListEntry": delete_api_key_access_list_entry,
    "addGroupApiKey": add_group_api_key,
    "updateGroupApiKeyRoles": update_group_api_key_roles,
    "removeGroupApiKey": remove_group_api_key,
    "listOrgServiceAccounts": list_service_accounts,
    "createOrgServiceAccount": create_service_account,
    "getOrgServiceAccount": get_service_account,
    "updateOrgServiceAccount": update_service_account,
    "deleteOrgServiceAccount": delete_service_account,
    "createOrgServiceAccountSecret": create_secret,
    "deleteOrgServiceAccountSecret": delete_secret,
    "listOrgServiceAccountAccessList": list_sa_access_list,
    "createOrgServiceAccountAccessList": create_sa_access_list,
    "deleteOrgServiceAccountAccessListEntry": delete_sa_access_list_entry,
}
