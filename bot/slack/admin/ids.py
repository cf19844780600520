"""The ids the admin surfaces use: slash commands, view callbacks, buttons and input blocks, all prefixed `admin_`.

An input's block id equals its action id, so field errors (keyed by block id) and test drivers (keyed by
action id) name a field the same way. None of these ids carries authority: listeners re-check the clicker.
"""

from __future__ import annotations

ADMIN_COMMAND = "/atlas-admin"
SYNC_COMMAND = "/atlas-sync"

# views
HOME = "admin_home"
INTEGRATION = "admin_integration"
FLOW = "admin_flow"

# buttons on the admin home modal (value: the integration or flow name)
ADD_INTEGRATION = "admin_add_integration"
ADD_FLOW = "admin_add_flow"
REFRESH = "admin_refresh"
EDIT_INTEGRATION = "admin_edit_integration"
TEST_INTEGRATION = "admin_test_integration"
SYNC_INTEGRATION = "admin_sync_integration"
ROTATE_INTEGRATION = "admin_rotate_integration"
TOGGLE_INTEGRATION = "admin_toggle_integration"
EDIT_FLOW = "admin_edit_flow"
TOGGLE_FLOW = "admin_toggle_flow"

# the integration modal
TEST_CONNECTION = "admin_test_connection"
CONNECTION_RESULT = "admin_connection_result"
I_NAME = "admin_name"
I_ORG = "admin_org_id"
I_DISCOVERY = "admin_discovery"
I_CRED_TYPE = "admin_credential_type"
I_CRED_ID = "admin_credential_id"
I_CRED_SECRET = "admin_credential_secret"
I_CHANNEL = "admin_approval_channel"
I_ROTATION = "admin_rotation_days"
I_DETAILS = "admin_access_details"
I_OWNER_USERS = "admin_owner_users"
I_OWNER_GROUPS = "admin_owner_groups"
I_TAG_KEY = "admin_owner_tag_key"
I_ATTRIBUTE = "admin_owner_attribute"
I_REMOVE_UNMANAGED = "admin_remove_unmanaged"
I_PD_KEY = "admin_pagerduty_key"  # write-only
I_PD_REMOVE = "admin_pagerduty_remove"
I_OKTA_URL = "admin_okta_url"
I_OKTA_TYPE = "admin_okta_type"
I_OKTA_CLIENT = "admin_okta_client_id"
I_OKTA_KEY_ID = "admin_okta_key_id"
I_OKTA_SECRET = "admin_okta_secret"  # write-only: the API token, or the service app's private key
I_OKTA_REMOVE = "admin_okta_remove"

# the access flow modal
F_NAME = "admin_flow_name"
F_INTEGRATION = "admin_flow_integration"
F_EVERYONE = "admin_flow_everyone"
F_USERS = "admin_flow_requester_users"
F_GROUPS = "admin_flow_requester_groups"
F_TYPES = "admin_flow_types"
F_NAMES = "admin_flow_names"
F_TAGS = "admin_flow_tags"
F_ROLES = "admin_flow_roles"
F_OTHER_ROLES = "admin_flow_other_roles"
F_DURATION = "admin_flow_max_duration"
F_APPROVAL = "admin_flow_approval"
F_APPROVALS = "admin_flow_approvals_required"
F_JUSTIFICATION = "admin_flow_justification"
F_APPROVAL_REASON = "admin_flow_approval_reason"
F_STEPS = "admin_flow_approval_steps"
F_BREAK_GLASS = "admin_flow_break_glass"
F_NETWORK = "admin_flow_network_access"
F_NETWORK_PREFIX = "admin_flow_network_max_prefix"
F_AUTH = "admin_flow_auth"
F_BUNDLES = "admin_flow_bundles"
F_ENABLED = "admin_flow_enabled"

# the live grants list (`/atlas-admin grants [filters]`): its modal and its Previous / Next buttons
GRANTS = "admin_grants"
GRANTS_PAGE = "admin_grants_page"
