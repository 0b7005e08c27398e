"""Live events for desktops and wallboards: a per-process hub fed by the bus, one socket each."""
