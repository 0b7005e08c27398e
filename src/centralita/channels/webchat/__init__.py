"""The web chat widget: visitor tokens, the JSON frame protocol and the adapter."""
