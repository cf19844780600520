"""Action and callback ids shared by the views that render a button and the listeners that take its click.

Kept apart so a view and a listener of different modules need not import each other (the App Home's buttons
appear in the expiry reminder too; the break-glass message is rendered by the approval message's view).
"""

from __future__ import annotations

EXTEND, EXTEND_CALLBACK = "home_extend", "extend_grant"  # the Extend button (Home, reminder) and its modal
DONE, CANCEL = "home_done", "home_cancel"  # "I'm done" on a grant, Cancel on a pending request
REVIEW = "break_glass_review"  # "Reviewed" on a break-glass announcement
SHOW_CREDENTIALS, CREDENTIALS_CALLBACK = "show_credentials", "shown_credentials"  # the one-time reveal and its modal
REVOKE, REVOKE_CALLBACK = "grant_revoke", "grant_revoke_reason"  # Revoke now (message, Homes, admin list), its modal
