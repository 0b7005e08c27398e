"""The virtual receptionist: NLU, the pure dialogue policy and its actions."""
