"""A strict simulator of the Okta management API operations atlas-access uses, for tests and the demo."""
