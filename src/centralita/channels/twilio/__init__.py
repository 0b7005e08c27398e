"""Twilio-compatible channels (also SignalWire LaML and Telnyx TeXML, which copy the format)."""
