"""The access domain: flows, approver resolution, the request/grant lifecycle and the ports it needs.

It imports only the standard library and pydantic; Atlas, storage and Slack implement or call it.
"""
